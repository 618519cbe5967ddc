package toolkit_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/frontdoor"
	"github.com/agiledeploy/dbaaskit/internal/simdb/localdb"
	awsp "github.com/agiledeploy/dbaaskit/providers/aws"
	"github.com/agiledeploy/dbaaskit/providers/aws/awssim"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean/dosim"
	"github.com/agiledeploy/dbaaskit/providers/exoscale"
	"github.com/agiledeploy/dbaaskit/providers/exoscale/exoscalesim"
	"github.com/agiledeploy/dbaaskit/providers/linode"
	"github.com/agiledeploy/dbaaskit/providers/linode/linodesim"
	"github.com/agiledeploy/dbaaskit/providers/local"
	"github.com/agiledeploy/dbaaskit/providers/local/localtest"
	"github.com/agiledeploy/dbaaskit/providers/vultr"
	"github.com/agiledeploy/dbaaskit/providers/vultr/vultrsim"
	"github.com/agiledeploy/dbaaskit/toolkit"
)

// cloudPass is the application password of the lines that carry one.
const cloudPass = "Sh0pPassw0rd"

// The bounds on the API calls of an apply: on a setup already converged,
// and on a new one beyond those of the create and the wait. The aim is 4
// and 6. DigitalOcean and Linode need more where a line names an
// application user: one list, the connection (DigitalOcean: the cluster
// and its CA; Linode: the instance, its credentials and its certificate)
// and the access list's read already make 3 or 4, and DigitalOcean reads
// the database and the user before making them. Their bounds are what
// they take today, so that a call added anywhere fails here.
const (
	maxConvergedCalls = 4
	maxFirstExtra     = 6
)

// budget is a cloud's bound of calls, where it is not the aim's.
type budget struct{ converged, firstExtra int }

var budgets = map[string]budget{
	toolkit.DigitalOcean: {converged: 6, firstExtra: 7},
	toolkit.Linode:       {converged: 5, firstExtra: maxFirstExtra},
}

// cloudCase is one provider the toolkit's step runs on.
type cloudCase struct {
	cloud  string
	engine dbaas.Engine
	// line is the toolkit line for an instance named name.
	line func(name string) string
	// open starts the provider: a simulator with real local servers of
	// engine behind it, or the local provider itself.
	open func(t *testing.T, engine dbaas.Engine) *target
	// createOp is the simulator's name of the create call.
	createOp string
}

// target is an opened provider with what counts its calls.
type target struct {
	p dbaas.Provider
	m meter
	// front serves the simulated databases on ports chosen in advance;
	// nil for the local provider, which creates on the configured port.
	front *frontDoor
}

// TestApplyOnEveryCloud runs the toolkit's whole step with each cloud's
// line against that cloud's simulator, with real local servers behind
// the simulated databases, and against the local provider: the first
// apply makes an instance the application logs in to, with a user that
// reads its own database only; the second changes nothing within the
// issue's call budget; a DB_PORT that is not the database's stops the
// apply before anything beyond the instance is changed.
func TestApplyOnEveryCloud(t *testing.T) {
	// The AWS subtest opens the AWS provider: it never asks EC2's
	// instance metadata (its credentials and endpoint are given too).
	// Set here, as parallel subtests cannot.
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	do := func(name string) string {
		return "MySQL:DBAAS:mysql:fra1:1:db-s-1vcpu-1gb:8:" + name + ":shopdb:shopuser:" + cloudPass + ":"
	}
	clouds := []cloudCase{
		{cloud: toolkit.DigitalOcean, engine: dbaas.MySQL, line: do, open: openDigitalOcean,
			createOp: "POST /v2/databases"},
		{cloud: toolkit.Linode, engine: dbaas.Postgres, open: openLinode,
			line: func(name string) string {
				return "Postgres:DBAAS:postgresql/15:us-east:g6-nanode-1:1:" + name + ":shopdb:shopuser:" + cloudPass
			},
			createOp: "POST /v4/databases/postgresql/instances"},
		{cloud: toolkit.AWS, engine: dbaas.Postgres, open: openAWS,
			line: func(name string) string {
				return "Postgres:DBAAS:postgres:us-east-1a:db.t3.micro:shopdb:" + name + ":20:shopadmin:" + cloudPass
			}},
		{cloud: toolkit.Vultr, engine: dbaas.MySQL, open: openVultr,
			line: func(name string) string {
				return "MySQL:DBAAS:mysql:8:ewr:vultr-dbaas-hobbyist-cc-1-25-1:shopdb:" + name + ":"
			},
			createOp: "POST /v2/databases"},
		{cloud: toolkit.Exoscale, engine: dbaas.Postgres, open: openExoscale,
			line:     func(name string) string { return "Postgres:DBAAS:pg:ch-gva-2:startup-4:" + name },
			createOp: "POST /v2/dbaas-postgres/{name}"},
		{cloud: toolkit.Local, engine: dbaas.MariaDB, open: openLocal,
			line: func(name string) string {
				return "Maria:DBAAS:mariadb::" + name + ":shopdb:shopuser:" + cloudPass
			}},
	}
	for _, c := range clouds {
		t.Run(c.cloud, func(t *testing.T) {
			t.Parallel()
			applyOn(t, c)
		})
	}
}

func applyOn(t *testing.T, c cloudCase) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tg := c.open(t, c.engine)
	m := tg.m
	caps := tg.p.Capabilities()
	web := dbaas.MustParseSource("203.0.113.10")

	// The configured port: where the provider lets it be chosen (local,
	// AWS) the instance is made on it; elsewhere it is the port the
	// simulated cloud serves the database on, fixed before the database
	// exists, as a cloud's is.
	var port int
	if caps.CustomPort {
		port = freePort(t)
	} else {
		port = tg.front.reserve(t)
	}
	opts := toolkit.Options{Cloud: c.cloud, Provider: tg.p, Port: port, WebServers: []dbaas.Source{web},
		CADir: t.TempDir(), Wait: dbaas.WaitOptions{FirstDelay: 20 * time.Millisecond, MaxDelay: 200 * time.Millisecond,
			Expected: -1, Timeout: 2 * time.Minute}}
	line := c.line("shop-" + strings.ReplaceAll(c.cloud, "digitalocean", "do"))

	// 1. The first apply makes the instance and the application's login.
	// Its calls up to the create's return, or to the wait's last poll
	// when it waits, are the create's and the wait's.
	m.reset()
	firstOpts := opts
	createWait := 0
	mark := func() { createWait = m.count() }
	firstOpts.Provider = marker{Provider: tg.p, created: mark}
	firstOpts.Wait.Progress = func(*dbaas.Instance, time.Duration, error) { mark() }
	res, err := toolkit.Apply(ctx, line, firstOpts)
	require.NoError(t, err)
	first := m.ops()
	t.Logf("%s: first apply: %d API calls (%d writes), %d of them the create's and the wait's: %s",
		c.cloud, len(first), m.writes(), createWait, strings.Join(first, ", "))
	require.Positive(t, createWait, "the first apply creates the instance")
	bound := budget{converged: maxConvergedCalls, firstExtra: maxFirstExtra}
	if b, ok := budgets[c.cloud]; ok {
		bound = b
	}
	assert.LessOrEqual(t, len(first)-createWait, bound.firstExtra, "API calls of the first apply beyond the create and the wait: %v", first[createWait:])
	assert.True(t, res.Created)
	assert.Equal(t, c.cloud, res.Provider)
	assert.Equal(t, port, res.Port, "the database listens on the configured port")
	assert.Equal(t, "127.0.0.1", res.Host)
	assert.True(t, res.Access.Empty(), "the instance is made with its access list: %+v", res.Access)
	access, err := tg.p.Access(ctx, res.InstanceID)
	require.NoError(t, err)
	addrs, groups := splitGroups(access)
	assert.Equal(t, []dbaas.Source{web}, addrs)
	if c.cloud == toolkit.AWS {
		assert.Len(t, groups, 1, "the toolkit's web-server group stays let in, as Create made it")
	} else {
		assert.Empty(t, groups)
	}
	switch c.cloud {
	case toolkit.AWS:
		assert.Equal(t, "shopadmin", res.User, "on AWS the line names the master user")
		assert.Equal(t, cloudPass, res.Password.Reveal())
		assert.Equal(t, "shopdb", res.Database)
	case toolkit.Vultr:
		assert.Equal(t, "shopdb", res.Database, "the line's database")
	case toolkit.Exoscale:
	default:
		assert.Equal(t, "shopuser", res.User)
		assert.Equal(t, cloudPass, res.Password.Reveal(), "the line's password, not the cloud's")
		assert.Equal(t, "shopdb", res.Database)
	}
	admin, err := tg.p.Connection(ctx, res.InstanceID)
	require.NoError(t, err)
	assert.Equal(t, admin.TLS, res.TLS)
	if len(admin.CACertPEM) > 0 {
		pem, err := os.ReadFile(res.CAFile)
		require.NoError(t, err, "the CA certificate is written for the application")
		assert.Equal(t, admin.CACertPEM, pem)
	} else {
		assert.Empty(t, res.CAFile)
	}
	app := *admin
	app.User, app.Password, app.Database, app.TLS = res.User, res.Password, res.Database, res.TLS
	if res.CAFile != "" {
		// The application trusts the file the toolkit wrote.
		app.CACertPEM, err = os.ReadFile(res.CAFile)
		require.NoError(t, err)
	}
	if appWrites(ctx, t, &app, c.cloud) {
		if res.User == admin.User {
			t.Logf("%s: the application's login is the administrator %s (the %s line names no user of its own): no other database is kept from it", c.cloud, res.User, c.cloud)
		} else {
			appIsolated(ctx, t, admin, &app)
		}
	}

	// 2. The second apply finds everything in place.
	m.reset()
	again, err := toolkit.Apply(ctx, line, opts)
	require.NoError(t, err)
	converged := m.ops()
	t.Logf("%s: converged apply: %d API calls: %s", c.cloud, len(converged), strings.Join(converged, ", "))
	assert.False(t, again.Created)
	assert.Equal(t, res.InstanceID, again.InstanceID)
	assert.Equal(t, res.Port, again.Port)
	assert.Equal(t, res.User, again.User)
	assert.Equal(t, res.Password.Reveal(), again.Password.Reveal())
	assert.Equal(t, res.Database, again.Database)
	assert.True(t, again.Access.Empty())
	assert.Zero(t, m.writes(), "a converged apply writes nothing: %v", converged)
	if c.cloud != toolkit.Local {
		// The local provider has no API: its operations cost no call.
		assert.LessOrEqual(t, len(converged), bound.converged, "API calls of a converged apply: %v", converged)
	}

	// 3. A DB_PORT that is not the database's stops the apply. On the
	// existing instance: nothing at all is written.
	wrong := opts
	wrong.Port = port + 1
	m.reset()
	_, err = toolkit.Apply(ctx, line, wrong)
	var mismatch *dbaas.PortMismatchError
	require.ErrorAs(t, err, &mismatch)
	assert.Equal(t, res.InstanceID, mismatch.InstanceID)
	assert.Equal(t, port+1, mismatch.Configured)
	assert.Equal(t, port, mismatch.Actual)
	assert.Zero(t, m.writes(), "nothing is changed: %v", m.ops())
	// The way out it names is one the provider has.
	if caps.CustomPort {
		assert.Empty(t, mismatch.Provider)
		assert.Contains(t, err.Error(), fmt.Sprintf("or recreate the instance with port %d", port+1))
	} else {
		assert.NotEmpty(t, mismatch.Provider)
		assert.Contains(t, err.Error(), "chooses the port; it cannot be set")
		assert.NotContains(t, err.Error(), "recreate")
	}

	// On a fresh line the instance is made first: where the port can be
	// chosen it is made on the configured one, so there is no mismatch
	// to meet; elsewhere the apply stops after the create.
	if caps.CustomPort {
		t.Logf("%s: the port can be chosen (Capabilities.CustomPort): a fresh line's instance is created on DB_PORT, so no mismatch arises there", c.cloud)
		return
	}
	require.NotNil(t, tg.front)
	other := tg.front.reserve(t)
	m.reset()
	fresh := c.line("shop-mismatch")
	_, err = toolkit.Apply(ctx, fresh, opts)
	mismatch = nil
	require.ErrorAs(t, err, &mismatch, "DB_PORT %d, the new instance's %d", port, other)
	assert.Equal(t, port, mismatch.Configured)
	assert.Equal(t, other, mismatch.Actual)
	ops := m.ops()
	t.Logf("%s: fresh line with a port mismatch: %d API calls (%d writes): %s", c.cloud, len(ops), m.writes(), strings.Join(ops, ", "))
	assert.Equal(t, int64(1), m.(*simMeter).sim.Calls(c.createOp), "one create")
	assert.Equal(t, int64(1), m.writes(), "no write beyond the create: %v", ops)
	access, err = tg.p.Access(ctx, mismatch.InstanceID)
	require.NoError(t, err)
	addrs, _ = splitGroups(access)
	assert.Equal(t, []dbaas.Source{web}, addrs, "the access list is the one made with the instance")
	if caps.AppUsers != "" {
		dbs, err := tg.p.Databases(ctx, mismatch.InstanceID)
		require.NoError(t, err)
		assert.NotContains(t, dbs, "shopdb", "no application database is made")
		users, err := tg.p.Users(ctx, mismatch.InstanceID)
		require.NoError(t, err)
		for _, u := range users {
			assert.NotEqual(t, "shopuser", u.Name, "no application user is made")
		}
	}
}

// appWrites logs in as the application with the TLS settings returned,
// and makes a table and a row in its own database. It reports whether it
// could: a failure is the test's, and the apply's later steps still run.
func appWrites(ctx context.Context, t *testing.T, app *dbaas.ConnectionInfo, cloud string) bool {
	t.Helper()
	db := open(t, app)
	if _, err := db.ExecContext(ctx, "CREATE TABLE toolkit_check (id int PRIMARY KEY, cloud varchar(40))"); !assert.NoError(t, err,
		"the application (%s) makes a table in its database %s", app.User, app.Database) {
		return false
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO toolkit_check (id, cloud) VALUES (1, '"+cloud+"')"); !assert.NoError(t, err) {
		return false
	}
	var got string
	if !assert.NoError(t, db.QueryRowContext(ctx, "SELECT cloud FROM toolkit_check WHERE id = 1").Scan(&got)) {
		return false
	}
	assert.Equal(t, cloud, got)
	if app.TLS != dbaas.TLSDisable && app.TLS != "" {
		assert.True(t, encrypted(ctx, t, db, app.Engine), "the connection is encrypted (TLS %s)", app.TLS)
	}
	return true
}

// appIsolated makes a second database holding a table, as the
// administrator, and checks that the application cannot read it.
func appIsolated(ctx context.Context, t *testing.T, admin, app *dbaas.ConnectionInfo) {
	t.Helper()
	const other = "othersecrets"
	exec := func(db *sql.DB, stmts ...string) bool {
		for _, q := range stmts {
			if _, err := db.ExecContext(ctx, q); !assert.NoError(t, err, q) {
				return false
			}
		}
		return true
	}
	adb := open(t, admin)
	if !exec(adb, "CREATE DATABASE "+other) {
		return
	}
	// The application's query, in its own database (MySQL) or in the
	// other one (PostgreSQL, whose databases are apart).
	reader, query := app, "SELECT count(*) FROM "+other+".secrets"
	if admin.Engine.MySQLFamily() {
		if !exec(adb, "CREATE TABLE "+other+".secrets (v varchar(20))", "INSERT INTO "+other+".secrets VALUES ('hidden')") {
			return
		}
	} else {
		inOther := *admin
		inOther.Database = other
		if !exec(open(t, &inOther), "CREATE TABLE secrets (v text)", "INSERT INTO secrets VALUES ('hidden')") {
			return
		}
		appOther := *app
		appOther.Database = other
		reader, query = &appOther, "SELECT count(*) FROM secrets"
	}
	var n int
	err := open(t, reader).QueryRowContext(ctx, query).Scan(&n)
	if assert.Error(t, err, "the application reads another database") {
		t.Logf("the application's read of another database: %v", err)
	}
}

// open returns a database handle on conn, closed at the end, one
// connection at a time.
func open(t *testing.T, conn *dbaas.ConnectionInfo) *sql.DB {
	t.Helper()
	db, err := sqlconn.Open(conn, dbaas.DSNOptions{ConnectTimeout: 10 * time.Second})
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// encrypted reports whether db's connection is over TLS, as the server
// sees it.
func encrypted(ctx context.Context, t *testing.T, db *sql.DB, engine dbaas.Engine) bool {
	t.Helper()
	if engine.MySQLFamily() {
		var name, cipher string
		require.NoError(t, db.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Ssl_cipher'").Scan(&name, &cipher))
		return cipher != ""
	}
	var ssl bool
	require.NoError(t, db.QueryRowContext(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl))
	return ssl
}

// installed is the engine the local servers run for engine: MariaDB
// speaks for MySQL.
func installed(engine dbaas.Engine) dbaas.Engine {
	if engine == dbaas.MySQL {
		return dbaas.MariaDB
	}
	return engine
}

// freePort returns a port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

// deleteAll deletes, at the end, every instance p lists.
func deleteAll(t *testing.T, p dbaas.Provider) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		list, err := p.List(ctx)
		if err != nil {
			t.Errorf("cleanup list: %v", err)
			return
		}
		for _, inst := range list {
			if err := p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}); err != nil && !errors.Is(err, dbaas.ErrNotFound) {
				t.Errorf("cleanup delete %s: %v", inst.ID, err)
			}
		}
	})
}

// simulator starts a simulator whose Backend is a front door over a new
// local provider; start returns the simulator, its URL and its Close.
// The client it returns names every request in the log.
func simulator(t *testing.T, engine dbaas.Engine, start func(simdb.Backend) (simControls, string, func() error, error)) (*frontDoor, simControls, string, *http.Client, *requestLog) {
	t.Helper()
	front := newFrontDoor(t, localtest.New(t, installed(engine)))
	sim, u, closeSim, err := start(front)
	require.NoError(t, err)
	tr := &http.Transport{}
	rec := &requestLog{next: tr}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		assert.NoError(t, closeSim())
	})
	return front, sim, u, &http.Client{Transport: rec}, rec
}

func simTarget(t *testing.T, p dbaas.Provider, front *frontDoor, sim simControls, rec *requestLog) *target {
	t.Helper()
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	deleteAll(t, p)
	return &target{p: p, front: front, m: &simMeter{sim: sim, rec: rec, t: t}}
}

func openDigitalOcean(t *testing.T, engine dbaas.Engine) *target {
	front, sim, u, hc, rec := simulator(t, engine, func(b simdb.Backend) (simControls, string, func() error, error) {
		s, u, err := dosim.Start(dosim.Options{ProvisionDelay: 50 * time.Millisecond, Backend: b})
		if err != nil {
			return nil, "", nil, err
		}
		return s, u, s.Close, nil
	})
	p, err := digitalocean.New(digitalocean.Options{Token: dbaas.NewSecret("sim-token"), BaseURL: u, HTTPClient: hc, Region: "fra1", RateLimit: -1})
	require.NoError(t, err)
	return simTarget(t, p, front, sim, rec)
}

func openLinode(t *testing.T, engine dbaas.Engine) *target {
	front, sim, u, hc, rec := simulator(t, engine, func(b simdb.Backend) (simControls, string, func() error, error) {
		s, u, err := linodesim.Start(linodesim.Options{ProvisionDelay: 50 * time.Millisecond, Backend: b})
		if err != nil {
			return nil, "", nil, err
		}
		return s, u, s.Close, nil
	})
	p, err := linode.New(context.Background(), dbaas.Config{Token: dbaas.NewSecret("sim-token"), BaseURL: u, Region: "us-east",
		HTTPClient: hc, Settings: map[string]string{linode.SettingRetryWait: "1ms", linode.SettingRetryMaxWait: "20ms"}})
	require.NoError(t, err)
	return simTarget(t, p, front, sim, rec)
}

func openAWS(t *testing.T, engine dbaas.Engine) *target {
	front, sim, u, hc, rec := simulator(t, engine, func(b simdb.Backend) (simControls, string, func() error, error) {
		s, u, err := awssim.Start(awssim.Options{ProvisionDelay: 50 * time.Millisecond, BackupDelay: 10 * time.Millisecond, Backend: b})
		if err != nil {
			return nil, "", nil, err
		}
		return s, u, s.Close, nil
	})
	rec.aws = true
	p, err := awsp.New(context.Background(), awsp.Options{Region: "us-east-1", BaseEndpoint: u, HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
	require.NoError(t, err)
	return simTarget(t, p, front, sim, rec)
}

func openVultr(t *testing.T, engine dbaas.Engine) *target {
	front, sim, u, hc, rec := simulator(t, engine, func(b simdb.Backend) (simControls, string, func() error, error) {
		s, u, err := vultrsim.Start(vultrsim.Options{ProvisionDelay: 50 * time.Millisecond, Backend: b})
		if err != nil {
			return nil, "", nil, err
		}
		return s, u, s.Close, nil
	})
	p, err := vultr.New(context.Background(), dbaas.Config{Token: dbaas.NewSecret("sim-token"), BaseURL: u, Region: "ewr", HTTPClient: hc,
		Settings: map[string]string{vultr.SettingRetryWait: "1ms", vultr.SettingRetryMaxWait: "20ms"}})
	require.NoError(t, err)
	return simTarget(t, p, front, sim, rec)
}

func openExoscale(t *testing.T, engine dbaas.Engine) *target {
	front, sim, u, hc, rec := simulator(t, engine, func(b simdb.Backend) (simControls, string, func() error, error) {
		s, u, err := exoscalesim.Start(exoscalesim.Options{ProvisionDelay: 50 * time.Millisecond, Backend: b})
		if err != nil {
			return nil, "", nil, err
		}
		return s, u, s.Close, nil
	})
	p, err := exoscale.New(context.Background(), dbaas.Config{Token: dbaas.NewSecret(exoscalesim.DefaultAPIKey), BaseURL: u, HTTPClient: hc},
		exoscale.WithAPISecret(dbaas.NewSecret(exoscalesim.DefaultAPISecret)))
	require.NoError(t, err)
	return simTarget(t, p, front, sim, rec)
}

// openLocal returns the local provider itself, its calls observed: the
// "API calls" of a provider without an API are its operations. It is a
// second provider on the state directory of localtest's, which deletes
// the instances at the end.
func openLocal(t *testing.T, engine dbaas.Engine) *target {
	dir := localtest.New(t, installed(engine)).StateDir()
	rec := &calls{}
	p, err := local.New(context.Background(), local.Options{StateDir: dir, Observer: rec})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	return &target{p: p, m: &observerMeter{c: rec}}
}

// marker is a provider that tells when its Create has returned.
type marker struct {
	dbaas.Provider
	created func()
}

func (p marker) Create(ctx context.Context, spec dbaas.Spec) (*dbaas.Instance, error) {
	defer p.created()
	return p.Provider.Create(ctx, spec)
}

// meter counts the calls a provider makes.
type meter interface {
	reset()
	// ops are the calls since reset, in order.
	ops() []string
	// writes is how many of them changed something.
	writes() int64
	// count is how many calls were made since reset, so far.
	count() int
}

// simControls are the simkit controls every simulator embeds.
type simControls interface {
	Calls(op string) int64
	TotalCalls() int64
	Writes() int64
	ResetCalls()
}

// simMeter reads a simulator's counters, and names its calls from the
// requests the adapter sent.
type simMeter struct {
	t   *testing.T
	sim simControls
	rec *requestLog
}

func (m *simMeter) reset() { m.sim.ResetCalls(); m.rec.take() }

func (m *simMeter) ops() []string {
	ops := m.rec.calls()
	assert.Equal(m.t, m.sim.TotalCalls(), int64(len(ops)), "the simulator served every request the adapter sent, and no other: %v", ops)
	return ops
}

func (m *simMeter) writes() int64 { return m.sim.Writes() }

func (m *simMeter) count() int { return m.rec.count() }

// observerMeter counts the operations the local provider served.
type observerMeter struct{ c *calls }

func (m *observerMeter) reset() { m.c.take() }

func (m *observerMeter) ops() []string {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	return append([]string(nil), m.c.ops...)
}

func (m *observerMeter) count() int {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	return len(m.c.ops)
}

// writes counts the operations that change something, but for the
// idempotent ensures of the application's database and user: an
// observer cannot tell whether they changed anything, and a converged
// apply runs them (TestApplyConvergesAndThenChangesNothing).
func (m *observerMeter) writes() int64 {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	var n int64
	for _, op := range writesIn(m.c.ops) {
		if op != "ensure database" && op != "ensure user" {
			n++
		}
	}
	return n
}

// requestLog is a transport that names each request it sends: the
// method and path, or the action of an AWS request.
type requestLog struct {
	next http.RoundTripper
	aws  bool
	mu   sync.Mutex
	log  []string
}

func (l *requestLog) RoundTrip(req *http.Request) (*http.Response, error) {
	op := req.Method + " " + req.URL.Path
	if l.aws {
		if target := req.Header.Get("X-Amz-Target"); target != "" {
			op = target
		} else if req.Body != nil {
			body, err := io.ReadAll(req.Body)
			_ = req.Body.Close()
			if err != nil {
				return nil, err
			}
			if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") != "" {
				op = form.Get("Action")
			}
			req = req.Clone(req.Context())
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
	}
	l.mu.Lock()
	l.log = append(l.log, op)
	l.mu.Unlock()
	return l.next.RoundTrip(req)
}

func (l *requestLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.log)
}

func (l *requestLog) calls() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.log...)
}

func (l *requestLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.log
	l.log = nil
	return out
}

// frontDoor is the simulators' Backend: localdb's real local servers,
// each served on a port chosen before the database exists, through a
// frontdoor.Relay, as a cloud serves its databases on a port it fixes.
// The local provider picks a free port of its own for each server it
// starts, which a DB_PORT configured before the first apply could not
// name. (frontdoor.New serves on a port fixed per engine, on addresses
// beyond 127.0.0.1; this test needs a port per database, reserved in
// advance, on 127.0.0.1.)
type frontDoor struct {
	b *localdb.Backend

	mu     sync.Mutex
	next   []net.Listener
	relays map[string]*frontdoor.Relay
}

var (
	_ simdb.AccountAttacher = (*frontDoor)(nil)
	_ simdb.Admin           = (*frontDoor)(nil)
)

func newFrontDoor(t *testing.T, lp *local.Provider) *frontDoor {
	t.Helper()
	f := &frontDoor{b: localdb.New(lp), relays: map[string]*frontdoor.Relay{}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		assert.NoError(t, f.Close(ctx))
	})
	return f
}

// reserve returns the port the next database attached is served on.
func (f *frontDoor) reserve(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next = append(f.next, l)
	return l.Addr().(*net.TCPAddr).Port
}

func (f *frontDoor) Attach(ctx context.Context, key string, engine dbaas.Engine, version string) (*simdb.Database, error) {
	return f.AttachAccount(ctx, key, engine, version, simdb.Account{})
}

func (f *frontDoor) AttachAccount(ctx context.Context, key string, engine dbaas.Engine, version string, account simdb.Account) (*simdb.Database, error) {
	db, err := f.b.AttachAccount(ctx, key, engine, version, account)
	if err != nil || account.Port != 0 {
		// A port the caller chose is the server's own already.
		return db, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.relays[key]
	if !ok {
		var l net.Listener
		if len(f.next) > 0 {
			l, f.next = f.next[0], f.next[1:]
		} else if l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("front door %s: %w", key, err)
		}
		r = frontdoor.NewRelay(l, db.Endpoint.Address())
		f.relays[key] = r
	}
	db.Endpoint.Port = r.Addr().(*net.TCPAddr).Port
	return db, nil
}

// AdminConnection is localdb's: the simulators that make their API's
// databases and users real on the server (dosim) connect to it directly.
func (f *frontDoor) AdminConnection(key string, engine dbaas.Engine) (*dbaas.ConnectionInfo, error) {
	return f.b.AdminConnection(key, engine)
}

func (f *frontDoor) Detach(ctx context.Context, key string) error {
	f.mu.Lock()
	r := f.relays[key]
	delete(f.relays, key)
	f.mu.Unlock()
	if r != nil {
		_ = r.Close()
	}
	return f.b.Detach(ctx, key)
}

// Close stops every relay and detaches every database.
func (f *frontDoor) Close(ctx context.Context) error {
	f.mu.Lock()
	relays, next := f.relays, f.next
	f.relays, f.next = map[string]*frontdoor.Relay{}, nil
	f.mu.Unlock()
	for _, r := range relays {
		_ = r.Close()
	}
	for _, l := range next {
		_ = l.Close()
	}
	return f.b.Close(ctx)
}

// splitGroups parts an access list into its addresses and its security
// groups.
func splitGroups(access []dbaas.Source) (addrs, groups []dbaas.Source) {
	for _, s := range access {
		if s.Kind == dbaas.SourceSecurityGroup {
			groups = append(groups, s)
		} else {
			addrs = append(addrs, s)
		}
	}
	return addrs, groups
}
