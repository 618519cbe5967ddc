package toolkit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/providers/memory"
	"github.com/agiledeploy/dbaaskit/toolkit"
)

// calls is an Observer that records the operations a provider served.
type calls struct {
	mu  sync.Mutex
	ops []string
}

func (c *calls) Begin(ctx context.Context, _ dbaas.Call) context.Context { return ctx }
func (c *calls) End(_ context.Context, call dbaas.Call, _ time.Duration, _ error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops = append(c.ops, call.Op)
}

func (c *calls) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.ops
	c.ops = nil
	return out
}

// writes are the operations that change something.
var writes = map[string]bool{"create": true, "delete": true, "allow": true, "revoke": true, "restore": true,
	"backup": true, "ensure database": true, "ensure user": true, "drop database": true, "drop user": true, "rotate password": true}

func writesIn(ops []string) []string {
	var out []string
	for _, op := range ops {
		if writes[op] {
			out = append(out, op)
		}
	}
	return out
}

const line = "Postgres:DBAAS:postgres:16:shop-db:shop:shopuser:Sh0pPassw0rd"

func TestApplyConvergesAndThenChangesNothing(t *testing.T) {
	ctx := context.Background()
	rec := &calls{}
	p := memory.New(memory.Options{ProvisionDelay: 20 * time.Millisecond, Observer: rec})
	web := dbaas.MustParseSource("203.0.113.10")
	opts := toolkit.Options{Provider: p, Port: 5433, WebServers: []dbaas.Source{web},
		Keep: []dbaas.Source{dbaas.MustParseSource("10.110.0.0/20")}, CADir: t.TempDir(),
		Wait: dbaas.WaitOptions{FirstDelay: 5 * time.Millisecond}}

	res, err := toolkit.Apply(ctx, line, opts)
	require.NoError(t, err)
	assert.True(t, res.Created)
	assert.Equal(t, 5433, res.Port, "where the port can be chosen, the configured one is used")
	assert.NotContains(t, res.Host, ":")
	assert.Equal(t, "shop", res.Database)
	assert.Equal(t, "shopuser", res.User)
	assert.Equal(t, "Sh0pPassw0rd", res.Password.Reveal())
	assert.True(t, res.Access.Empty(), "a new instance is made with its access list")
	first := rec.take()
	assert.Subset(t, first, []string{"create", "ensure database", "ensure user"})
	assert.NotContains(t, first, "allow")
	access, err := p.Access(ctx, res.InstanceID)
	require.NoError(t, err)
	assert.ElementsMatch(t, []dbaas.Source{web, dbaas.MustParseSource("10.110.0.0/20")}, access)

	users, err := p.Users(ctx, res.InstanceID)
	require.NoError(t, err)
	require.Len(t, users, 1)
	assert.Equal(t, "shop", users[0].Database)
	rec.take()

	again, err := toolkit.Apply(ctx, line, opts)
	require.NoError(t, err)
	assert.False(t, again.Created)
	assert.Equal(t, res.InstanceID, again.InstanceID)
	assert.True(t, again.Access.Empty())
	second := rec.take()
	assert.Equal(t, []string{"ensure database", "ensure user"}, writesIn(second), "a converged apply changes nothing: only the idempotent ensures run")
	assert.NotContains(t, second, "get", "an available instance is not waited for")
	t.Logf("converged apply: %d calls %v", len(second), second)
}

func TestApplyStopsOnAPortMismatchBeforeAnyChange(t *testing.T) {
	ctx := context.Background()
	rec := &calls{}
	p := memory.New(memory.Options{Observer: rec})
	inst, err := p.Create(ctx, dbaas.Spec{Name: "shop-db", Engine: dbaas.Postgres, Size: "small", Port: 6000})
	require.NoError(t, err)
	rec.take()
	_, err = toolkit.Apply(ctx, line, toolkit.Options{Provider: p, Port: 5432,
		WebServers: []dbaas.Source{dbaas.MustParseSource("203.0.113.10")}})
	var mismatch *dbaas.PortMismatchError
	require.ErrorAs(t, err, &mismatch)
	assert.Equal(t, 6000, mismatch.Actual)
	assert.Empty(t, writesIn(rec.take()), "nothing was changed")
	access, err := p.Access(ctx, inst.ID)
	require.NoError(t, err)
	assert.Empty(t, access)
}

func TestApplyRefusesBadInputBeforeAnyCall(t *testing.T) {
	ctx := context.Background()
	rec := &calls{}
	p := memory.New(memory.Options{Observer: rec})
	tests := []struct {
		name, line string
		opts       toolkit.Options
		words      string
	}{
		{"malformed line", "Postgres:DBAAS:postgres:16:Shop!:shop:shopuser:Sh0pPassw0rd", toolkit.Options{Provider: p, Port: 5432}, "field 5 (name)"},
		{"bad password", "Postgres:DBAAS:postgres:16:shop-db:shop:shopuser:a b", toolkit.Options{Provider: p, Port: 5432}, "field 8 (pass)"},
		{"world", line, toolkit.Options{Provider: p, Port: 5432, WebServers: []dbaas.Source{dbaas.MustParseSource("0.0.0.0/0")}}, "whole internet"},
		{"port", line, toolkit.Options{Provider: p, Port: 70000}, "port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := toolkit.Apply(ctx, tt.line, tt.opts)
			require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
			assert.Contains(t, err.Error(), tt.words)
			assert.NotContains(t, err.Error(), "Sh0pPassw0rd")
			assert.Empty(t, rec.take(), "no call")
		})
	}
}
