package cli

import (
	"bufio"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/cli/simreg"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean"
)

// TestBinarySimServesDigitalOceanOnItsPort: behind "dbaas sim", a
// DigitalOcean cluster listens on 25060, as every real one does, on a
// loopback address of its own, so that the toolkit's step runs with the
// DB_PORT DigitalOcean documents; a second cluster gets another address
// and the same port; Ctrl-C closes them.
func TestBinarySimServesDigitalOceanOnItsPort(t *testing.T) {
	needLocalPostgres(t)
	dir := localStateDir(t)
	cmd, stdout, errb := newProc(t).start("sim", "--backend", "local", "--state-dir", dir, "--provision-delay", "0s")
	want := 0
	for _, s := range simreg.All() {
		want += len(s.Env("", "")) + 1 // and the pace hint
	}
	var env []string
	sc := bufio.NewScanner(stdout)
	for len(env) < want && sc.Scan() {
		env = append(env, strings.TrimPrefix(sc.Text(), "export "))
	}
	if len(env) != want {
		_ = cmd.Process.Kill()
		_ = cmd.Wait() // errb is safe to read once the process is reaped
		t.Fatalf("sim printed %d export lines of %d: %s", len(env), want, errb.String())
	}
	p := newProc(t, append(env, "DBAAS_PROVIDER=digitalocean")...)
	port := strconv.Itoa(digitalocean.Port)

	// The toolkit's step with DigitalOcean's port as DB_PORT.
	work := t.TempDir()
	web := filepath.Join(work, "web.txt")
	require.NoError(t, os.WriteFile(web, []byte("10.0.0.5\n"), 0o600))
	pwFile := filepath.Join(work, "db.password")
	r := p.runIn("Postgres:DBAAS:pg:nyc1:1:db-s-1vcpu-1gb:16:shop:appdb:appuser::\n",
		"toolkit", "apply", "-", "--port", port, "--web-servers", web, "--password-file", pwFile)
	require.Equal(t, exitOK, r.code, "toolkit apply with DB_PORT %s: %s", port, r.stderr)
	vars := envLines(t, r.stdout)
	assert.Equal(t, port, vars["DB_PORT"])
	host := vars["DB_HOST"]
	assert.NotEqual(t, "127.0.0.1", host, "a host of the cluster's own, not the local server's")
	assert.True(t, net.ParseIP(host).IsLoopback(), "a loopback address: %s", host)

	assert.Equal(t, port+"\n", p.ok("port", "shop"))
	assert.Equal(t, host+"\n", p.ok("endpoint", "shop"))
	p.ok("check-port", "shop", "--expect", port)
	uri := strings.TrimSpace(p.ok("connection", "shop", "--show-secrets"))
	assert.Contains(t, uri, "@"+net.JoinHostPort(host, port)+"/")
	selectOne(t, uri)

	// The application's login, with what the toolkit printed.
	pw, err := os.ReadFile(pwFile)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig("sslmode=" + vars["DB_TLS"] + " sslrootcert=" + vars["DB_CA_FILE"])
	require.NoError(t, err)
	cfg.Host, cfg.User, cfg.Database, cfg.Password = host, vars["DB_USER"], vars["DB_NAME"], strings.TrimSpace(string(pw))
	cfg.Port = uint16(digitalocean.Port)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err, "the application logs in at %s:%s", host, port)
	var user string
	require.NoError(t, conn.QueryRow(ctx, "select current_user").Scan(&user))
	assert.Equal(t, "appuser", user)
	require.NoError(t, conn.Close(ctx))

	// A second cluster: another host, the same port.
	r = p.run("create", "shop2", "--engine", "pg", "--size", "db-s-1vcpu-1gb", "--region", "nyc1", "--wait", "--poll", "200ms", "--timeout", "3m")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, port+"\n", p.ok("port", "shop2"))
	host2 := strings.TrimSpace(p.ok("endpoint", "shop2"))
	assert.NotEqual(t, host, host2)
	selectOne(t, strings.TrimSpace(p.ok("connection", "shop2", "--show-secrets")))

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd.Wait(), errb.String())
	for _, h := range []string{host, host2} {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(h, port), 2*time.Second)
		if err == nil {
			_ = c.Close()
		}
		assert.Error(t, err, "nothing listens on %s:%s after Ctrl-C", h, port)
	}
}

// TestSimFixedPorts: only the clouds that serve every database on one
// documented port get a front door; the others pick a port per database
// (Linode, Vultr, Exoscale) or take the caller's (AWS).
func TestSimFixedPorts(t *testing.T) {
	want := map[string]int{"digitalocean": digitalocean.Port}
	for _, s := range simreg.All() {
		t.Run(s.Provider, func(t *testing.T) {
			port, fixed := want[s.Provider]
			if !fixed {
				assert.Nil(t, s.Port)
				return
			}
			require.NotNil(t, s.Port)
			for _, e := range []dbaas.Engine{dbaas.Postgres, dbaas.MySQL} {
				assert.Equal(t, port, s.Port(e), e)
			}
		})
	}
}
