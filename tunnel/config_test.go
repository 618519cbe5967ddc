package tunnel

import (
	"context"
	"testing"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigValidation(t *testing.T) {
	leakCheck(t)
	valid := func() Config {
		return Config{
			Relays:                []Relay{{Hop: Hop{Host: "relay.example.com", User: "deploy"}}},
			Remote:                dbaas.Endpoint{Host: "10.0.0.5", Port: 5432},
			InsecureIgnoreHostKey: true,
		}
	}
	tests := []struct {
		name   string
		change func(c *Config)
		field  string // "" means valid
	}{
		{name: "valid", change: func(*Config) {}},
		{name: "ipv6 relay with port", change: func(c *Config) { c.Relays[0].Host = "[2001:db8::1]:2222" }},
		{name: "no relay", change: func(c *Config) { c.Relays = nil }, field: "relays"},
		{name: "empty relay host", change: func(c *Config) { c.Relays[0].Host = "" }, field: "relays[0].host"},
		{name: "relay port twice", change: func(c *Config) { c.Relays[0].Host = "r:22"; c.Relays[0].Port = 22 }, field: "relays[0].port"},
		{name: "relay port out of range", change: func(c *Config) { c.Relays[0].Port = 70000 }, field: "relays[0].port"},
		{name: "user in host", change: func(c *Config) { c.Relays[0].Host = "deploy@relay" }, field: "relays[0].host"},
		{name: "bad jump host", change: func(c *Config) { c.Relays[0].Jump = []Hop{{Host: "j:0"}} }, field: "relays[0].jump[0].host"},
		{name: "unknown policy", change: func(c *Config) { c.Policy = "random" }, field: "policy"},
		{name: "remote host with port", change: func(c *Config) { c.Remote.Host = "db:5432" }, field: "endpoint.host"},
		{name: "remote without port", change: func(c *Config) { c.Remote.Port = 0 }, field: "endpoint.port"},
		{name: "listen on all interfaces", change: func(c *Config) { c.Listen = "0.0.0.0:5432" }, field: "listen"},
		{name: "listen on all interfaces when asked", change: func(c *Config) { c.Listen = "0.0.0.0:5432"; c.AllowRemoteClients = true }},
		{name: "listen localhost", change: func(c *Config) { c.Listen = "localhost:5432" }},
		{name: "listen without port", change: func(c *Config) { c.Listen = "127.0.0.1" }, field: "listen"},
		{name: "relative unix socket", change: func(c *Config) { c.Listen = "unix:sock" }, field: "listen"},
		{name: "negative max conns", change: func(c *Config) { c.MaxConns = -1 }, field: "must not be negative"},
		{name: "backoff inverted", change: func(c *Config) { c.MinBackoff = 5e9; c.MaxBackoff = 1e9 }, field: "max_backoff"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.change(&c)
			got, err := c.withDefaults()
			if tc.field == "" {
				require.NoError(t, err)
				assert.Equal(t, Failover, got.Policy)
				assert.Equal(t, DefaultKeepaliveInterval, got.KeepaliveInterval)
				assert.Equal(t, DefaultKeepaliveCount, got.KeepaliveCount)
				assert.Equal(t, DefaultMaxConns, got.MaxConns)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, dbaas.ErrInvalidArgument)
			assert.Contains(t, err.Error(), tc.field)
			// Open refuses it before any side effect.
			_, err = Open(context.Background(), c)
			assert.ErrorIs(t, err, dbaas.ErrInvalidArgument)
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	leakCheck(t)
	c, err := Config{Relays: []Relay{{Hop: Hop{Host: "r"}}}, Remote: dbaas.Endpoint{Host: "db", Port: 3306}, InsecureIgnoreHostKey: true}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:0", c.Listen, "the default listener is loopback only")
	assert.Equal(t, "r:22", c.Relays[0].Address())
	assert.Equal(t, "u@r:2222 via j1:22,j2:22", Relay{Hop: Hop{Host: "r", Port: 2222, User: "u"}, Jump: []Hop{{Host: "j1"}, {Host: "j2"}}}.String())
	assert.Equal(t, "unix:/run/db/.s.PGSQL.5432", PostgresSocket("/run/db", 5432))
}
