package linode_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linode/linodego"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
	"github.com/agiledeploy/dbaaskit/providers/linode"
	"github.com/agiledeploy/dbaaskit/providers/linode/linodesim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const pgPath = "/v4/databases/postgresql/instances"

func TestOpen(t *testing.T) {
	ctx := context.Background()
	t.Setenv("LINODE_TOKEN", "")
	_, err := dbaas.Open(ctx, linode.Name, dbaas.Config{})
	require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "token")
	assert.Contains(t, err.Error(), "LINODE_TOKEN")

	t.Setenv("LINODE_TOKEN", "from-env")
	p, err := dbaas.Open(ctx, linode.Name, dbaas.Config{})
	require.NoError(t, err)
	var client *linodego.Client
	require.True(t, p.As(&client))
	assert.NotNil(t, client)

	bad := []struct {
		key, value string
	}{
		{"colour", "blue"},
		{linode.SettingRetries, "many"},
		{linode.SettingRetries, "1000"},
		{linode.SettingRetryWait, "soon"},
		{linode.SettingRateLimit, "1600"},
		{linode.SettingRateLimit, "-3/1m"},
		{linode.SettingListRateLimit, "200/forever"},
	}
	for _, b := range bad {
		t.Run(b.key+"="+b.value, func(t *testing.T) {
			_, err := dbaas.Open(ctx, linode.Name, dbaas.Config{Settings: map[string]string{b.key: b.value}})
			require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
			assert.Contains(t, err.Error(), b.key)
		})
	}
	_, err = linode.New(ctx, dbaas.Config{Settings: map[string]string{linode.SettingRetryWait: "2s", linode.SettingRetryMaxWait: "1s"}})
	assert.ErrorIs(t, err, dbaas.ErrInvalidArgument)
}

func TestTokenIsSent(t *testing.T) {
	sim, url, err := linodesim.Start(linodesim.Options{Token: "right"})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sim.Close()) })
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	for token, want := range map[string]error{"right": nil, "wrong": dbaas.ErrPermissionDenied} {
		p, err := linode.New(context.Background(), dbaas.Config{Token: dbaas.NewSecret(token), BaseURL: url,
			HTTPClient: &http.Client{Transport: tr}})
		require.NoError(t, err)
		_, err = p.List(context.Background())
		if want == nil {
			assert.NoError(t, err)
			continue
		}
		require.ErrorIs(t, err, want)
		assert.NotContains(t, err.Error(), token, "the token never reaches an error")
		var le *linodego.Error
		assert.True(t, errors.As(err, &le), "the linodego error is reachable")
	}
}

func TestBadInputMakesNoCall(t *testing.T) {
	e := newEnv(t, fakeclock.NewAuto(epoch), linodesim.Options{}, nil)
	ctx := context.Background()
	tests := []struct {
		name  string
		edit  func(s *dbaas.Spec)
		kind  error
		field string
	}{
		{"mariadb", func(s *dbaas.Spec) { s.Engine = dbaas.MariaDB }, dbaas.ErrUnsupported, "mariadb"},
		{"port", func(s *dbaas.Spec) { s.Port = 6543 }, dbaas.ErrUnsupported, "Port"},
		{"storage", func(s *dbaas.Spec) { s.StorageGB = 100 }, dbaas.ErrUnsupported, "StorageGB"},
		{"admin user", func(s *dbaas.Spec) { s.AdminUser = "boss" }, dbaas.ErrUnsupported, "AdminUser"},
		{"tags", func(s *dbaas.Spec) { s.Tags = map[string]string{"env": "prod"} }, dbaas.ErrUnsupported, "Tags"},
		{"options", func(s *dbaas.Spec) { s.Options = map[string]string{"x": "y"} }, dbaas.ErrInvalidArgument, "options[x]"},
		{"sg source", func(s *dbaas.Spec) { s.Access = []dbaas.Source{{Kind: dbaas.SourceSecurityGroup, Value: "sg-1"}} }, dbaas.ErrUnsupported, "sg"},
		{"ipv6 source", func(s *dbaas.Spec) { s.Access = []dbaas.Source{dbaas.CIDR("2001:db8::/32")} }, dbaas.ErrInvalidArgument, "access[0]"},
		{"subnet alone", func(s *dbaas.Spec) { s.Subnet = "7" }, dbaas.ErrInvalidArgument, "subnet"},
		{"vpc not a number", func(s *dbaas.Spec) { s.PrivateNetwork, s.Subnet = "vpc-1", "7" }, dbaas.ErrInvalidArgument, "private_network"},
		{"no region", func(s *dbaas.Spec) { s.Region = "" }, dbaas.ErrInvalidArgument, "region"},
	}
	noRegion, err := linode.New(ctx, dbaas.Config{Token: dbaas.NewSecret("x"), BaseURL: "http://127.0.0.1:1"})
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec("bad-input", dbaas.Postgres)
			tt.edit(&s)
			p := e.p
			if tt.field == "region" {
				p = noRegion
			}
			_, err := p.Create(ctx, s)
			require.ErrorIs(t, err, tt.kind)
			assert.Contains(t, err.Error(), tt.field)
			_, err = p.Restore(ctx, dbaas.AtTime("postgresql/5", epoch), s)
			require.ErrorIs(t, err, tt.kind, "restore checks the spec the same way")
		})
	}
	assert.Zero(t, e.sim.TotalCalls(), "refused before any call")
	_, err = e.p.Get(ctx, "227300")
	require.ErrorIs(t, err, dbaas.ErrInvalidArgument, "an id without its engine")
	_, err = e.p.Restore(ctx, dbaas.FromBackup("a-backup-id"), spec("restored", dbaas.Postgres))
	require.ErrorIs(t, err, dbaas.ErrUnsupported, "Linode restores only to a point in time")
	assert.Contains(t, err.Error(), "point in time")
	assert.Zero(t, e.sim.TotalCalls())
}

func TestAPIRefusalNamesField(t *testing.T) {
	e := newEnv(t, fakeclock.NewAuto(epoch), linodesim.Options{}, nil)
	ctx := context.Background()
	tests := []struct {
		name  string
		edit  func(s *dbaas.Spec)
		field string
	}{
		{"region", func(s *dbaas.Spec) { s.Region = "mars-1" }, "region"},
		{"plan type", func(s *dbaas.Spec) { s.Size = "g6-huge-9" }, "size"},
		{"version", func(s *dbaas.Spec) { s.Version = "9" }, "engine"},
		{"cluster size", func(s *dbaas.Spec) { s.Nodes = 2 }, "nodes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec("refused", dbaas.Postgres)
			tt.edit(&s)
			_, err := e.p.Create(ctx, s)
			require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
			var de *dbaas.Error
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tt.field, de.Field)
			var le *linodego.Error
			require.ErrorAs(t, err, &le)
			assert.Equal(t, http.StatusBadRequest, le.Code)
		})
	}
	list, err := e.p.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, list, "nothing half made")
	assert.EqualValues(t, len(tests), e.sim.Calls("POST "+pgPath), "a refused create is sent once")
}

// TestCreateNeverDuplicates proves the create guard against faults: the
// POST is sent without linodego's retries, and after an answer that
// leaves the outcome unknown the provider looks for the label before it
// sends again.
func TestCreateNeverDuplicates(t *testing.T) {
	tests := []struct {
		name      string
		fault     linodesim.Fault
		posts     int // POSTs the simulator receives
		lookups   int // label lookups
		wantError error
	}{
		{"answer dropped after the create", linodesim.Fault{Op: "POST " + pgPath, Drop: true, AfterHandling: true}, 1, 1, nil},
		{"503 before the create", linodesim.Fault{Op: "POST " + pgPath, Status: http.StatusServiceUnavailable}, 2, 1, nil},
		{"connection dropped before the create", linodesim.Fault{Op: "POST " + pgPath, Drop: true}, 2, 1, nil},
		{"429", linodesim.Fault{Op: "POST " + pgPath, Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second}, 2, 0, nil},
		{"500 every time", linodesim.Fault{Op: "POST " + pgPath, Status: http.StatusInternalServerError, Times: -1}, 3, 3, errors.New("500")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, fakeclock.NewAuto(epoch), linodesim.Options{}, nil)
			e.sim.Inject(tt.fault)
			inst, err := e.p.Create(context.Background(), spec("guarded", dbaas.Postgres))
			if tt.wantError != nil {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantError.Error())
			} else {
				require.NoError(t, err)
				assert.Equal(t, "guarded", inst.Name)
			}
			assert.EqualValues(t, tt.posts, e.sim.Calls("POST "+pgPath), "POSTs")
			assert.EqualValues(t, tt.lookups, e.sim.Calls("GET "+pgPath), "label lookups")
			list, err := e.p.List(context.Background())
			require.NoError(t, err)
			want := 1
			if tt.wantError != nil {
				want = 0
			}
			assert.Len(t, list, want, "databases made")
		})
	}
}

// TestLinodegoAloneWouldDuplicate shows what the guard prevents: the
// unmodified client resends a POST on 503, so a create whose answer was
// lost behind a 503 reaches the API twice.
func TestLinodegoAloneWouldDuplicate(t *testing.T) {
	sim, url, err := linodesim.Start(linodesim.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sim.Close()) })
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := linodego.NewClient(&http.Client{Transport: tr})
	c.SetToken("t")
	c.SetBaseURL(url)
	c.SetRetryWaitTime(time.Millisecond)
	c.SetRetryMaxWaitTime(10 * time.Millisecond)
	sim.Inject(linodesim.Fault{Op: "POST *", Status: http.StatusServiceUnavailable})
	_, err = c.CreatePostgresDatabase(context.Background(), linodego.PostgresCreateOptions{
		Label: "twice", Region: "us-east", Type: "g6-nanode-1", Engine: "postgresql/16"})
	require.NoError(t, err)
	assert.EqualValues(t, 2, sim.Calls("POST "+pgPath), "linodego resent the POST")
}

func TestReadsAreRetried(t *testing.T) {
	e := newEnv(t, fakeclock.NewAuto(epoch), linodesim.Options{}, map[string]string{linode.SettingRetries: "2"})
	ctx := context.Background()
	inst, err := e.p.Create(ctx, spec("retried", dbaas.MySQL))
	require.NoError(t, err)
	const op = "GET /v4/databases/mysql/instances/{id}"

	e.sim.Inject(linodesim.Fault{Op: op, Status: http.StatusServiceUnavailable, Times: 2})
	_, err = e.p.Get(ctx, inst.ID)
	require.NoError(t, err)
	assert.EqualValues(t, 3, e.sim.Calls(op))

	e.sim.Inject(linodesim.Fault{Op: op, Status: http.StatusTooManyRequests, RetryAfter: time.Second, Times: -1})
	_, err = e.p.Get(ctx, inst.ID)
	require.ErrorIs(t, err, dbaas.ErrRateLimited, "the retry count is bounded")
	assert.EqualValues(t, 3+3, e.sim.Calls(op), "one try and two retries")
}

// TestAllowListConcurrentInProcess: changes through one provider take
// turns, so none is lost.
func TestAllowListConcurrentInProcess(t *testing.T) {
	e := newEnv(t, fakeclock.NewAuto(epoch), linodesim.Options{}, nil)
	ctx := context.Background()
	inst, err := e.p.Create(ctx, spec("busy", dbaas.Postgres))
	require.NoError(t, err)
	var wg sync.WaitGroup
	want := map[string]bool{}
	for i := range 16 {
		src := dbaas.CIDR(fmt.Sprintf("10.0.%d.0/24", i))
		want[src.String()] = true
		wg.Go(func() { assert.NoError(t, e.p.Allow(ctx, inst.ID, src)) })
	}
	wg.Wait()
	got, err := e.p.Access(ctx, inst.ID)
	require.NoError(t, err)
	have := map[string]bool{}
	for _, s := range got {
		have[s.String()] = true
	}
	assert.Equal(t, want, have)
}

// TestAllowListLostUpdateIsCaught orders two providers (two processes)
// so that B's PUT, based on a list read before A's PUT, drops A's entry:
// A's confirming read sees it missing and A writes again.
func TestAllowListLostUpdateIsCaught(t *testing.T) {
	var mu sync.Mutex
	gets := map[string]int{}
	aConfirm, bConfirm := make(chan struct{}), make(chan struct{})
	var instPath string
	hook := func(r *http.Request) {
		mu.Lock()
		p := instPath
		mu.Unlock()
		if p == "" || r.URL.Path != p {
			return
		}
		token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		switch {
		case r.Method == http.MethodPut && token == "b":
			<-aConfirm // B writes after A wrote, from a list read before
		case r.Method == http.MethodGet:
			mu.Lock()
			gets[token]++
			n := gets[token]
			mu.Unlock()
			switch {
			case token == "a" && n == 2:
				close(aConfirm)
				<-bConfirm // A confirms after B's PUT
			case token == "b" && n == 2:
				close(bConfirm)
			}
		}
	}
	sim, url, err := linodesim.Start(linodesim.Options{Hook: hook})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sim.Close()) })
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	open := func(token string) *linode.Provider {
		p, err := linode.New(context.Background(), dbaas.Config{Token: dbaas.NewSecret(token), BaseURL: url,
			Region: "us-east", HTTPClient: &http.Client{Transport: tr}})
		require.NoError(t, err)
		return p
	}
	a, b := open("a"), open("b")
	ctx := context.Background()
	inst, err := a.Create(ctx, spec("contended", dbaas.Postgres))
	require.NoError(t, err)
	mu.Lock()
	instPath = pgPath + "/" + strings.TrimPrefix(inst.ID, "postgresql/")
	mu.Unlock()

	bDone := make(chan error, 1)
	go func() { bDone <- b.Allow(ctx, inst.ID, dbaas.CIDR("198.51.100.2/32")) }()
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return gets["b"] == 1 }, 5*time.Second, time.Millisecond)
	require.NoError(t, a.Allow(ctx, inst.ID, dbaas.CIDR("203.0.113.1/32")))
	require.NoError(t, <-bDone)

	got, err := a.Access(ctx, inst.ID)
	require.NoError(t, err)
	assert.ElementsMatch(t, []dbaas.Source{dbaas.CIDR("198.51.100.2/32"), dbaas.CIDR("203.0.113.1/32")}, got)
	assert.EqualValues(t, 3, sim.Calls("PUT "+pgPath+"/{id}"), "A wrote twice: its confirm caught B's overwrite")
}

func TestAllowRefusals(t *testing.T) {
	e := newEnv(t, fakeclock.New(epoch), linodesim.Options{ProvisionDelay: time.Hour}, nil)
	ctx := context.Background()
	inst, err := e.p.Create(ctx, spec("young", dbaas.Postgres))
	require.NoError(t, err)
	e.sim.ResetCalls()
	err = e.p.Allow(ctx, inst.ID, dbaas.Source{Kind: dbaas.SourceTag, Value: "web"})
	require.ErrorIs(t, err, dbaas.ErrUnsupported)
	err = e.p.Allow(ctx, inst.ID, dbaas.CIDR("2001:db8::/48"))
	require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
	assert.Zero(t, e.sim.TotalCalls(), "refused before any call")
	err = e.p.Allow(ctx, inst.ID, dbaas.CIDR("192.0.2.0/24"))
	require.ErrorIs(t, err, dbaas.ErrConflict, "Linode changes the list of an active database only")
	assert.Contains(t, err.Error(), "provisioning")
	assert.Zero(t, e.sim.Writes())
}

// TestRestoreSendsRestoreTime checks the fork body on the wire: the new
// database records the source and the very second asked for.
func TestRestoreSendsRestoreTime(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, linodesim.Options{ProvisionDelay: 10 * time.Minute}, nil)
	ctx := context.Background()
	src, err := e.p.Create(ctx, spec("source", dbaas.MySQL))
	require.NoError(t, err)
	_, err = dbaas.Wait(ctx, e.p, src.ID, dbaas.WaitOptions{Clock: clock})
	require.NoError(t, err)
	clock.Advance(3 * time.Hour)
	backups, err := e.p.Backups(ctx, src.ID)
	require.NoError(t, err)
	require.Len(t, backups, 1)
	w := backups[0]
	assert.Equal(t, dbaas.BackupPointInTime, w.Kind)
	assert.Equal(t, epoch.Add(10*time.Minute), w.EarliestRestore)
	at := w.EarliestRestore.Add(time.Hour + 17*time.Second)

	inst, err := e.p.Restore(ctx, dbaas.AtTime(src.ID, at), spec("forked", dbaas.MySQL))
	require.NoError(t, err)
	var client *linodego.Client
	require.True(t, e.p.As(&client))
	var num int
	_, err = fmt.Sscanf(inst.ID, "mysql/%d", &num)
	require.NoError(t, err)
	db, err := client.GetMySQLDatabase(ctx, num)
	require.NoError(t, err)
	require.NotNil(t, db.Fork)
	assert.Equal(t, strings.TrimPrefix(src.ID, "mysql/"), fmt.Sprint(db.Fork.Source))
	require.NotNil(t, db.Fork.RestoreTime)
	assert.Equal(t, at, db.Fork.RestoreTime.UTC())

	_, err = e.p.Restore(ctx, dbaas.AtTime(src.ID, at), spec("forked-pg", dbaas.Postgres))
	require.ErrorIs(t, err, dbaas.ErrInvalidArgument, "a fork keeps the source's engine")
	s := spec("forked-v", dbaas.MySQL)
	s.Version = "9"
	_, err = e.p.Restore(ctx, dbaas.AtTime(src.ID, at), s)
	require.ErrorIs(t, err, dbaas.ErrInvalidArgument, "and its major version")
}

func TestStatusMapping(t *testing.T) {
	clock := fakeclock.New(epoch)
	e := newEnv(t, clock, linodesim.Options{ProvisionDelay: time.Minute}, nil)
	ctx := context.Background()
	inst, err := e.p.Create(ctx, spec("states", dbaas.Postgres))
	require.NoError(t, err)
	check := func(want dbaas.Status, raw string) {
		t.Helper()
		got, err := e.p.Get(ctx, inst.ID)
		require.NoError(t, err)
		assert.Equal(t, want, got.Status)
		assert.Equal(t, raw, got.RawStatus)
	}
	check(dbaas.StatusProvisioning, "provisioning")
	clock.Advance(time.Minute)
	check(dbaas.StatusAvailable, "active")
	require.NoError(t, e.p.Stop(ctx, inst.ID))
	check(dbaas.StatusStopped, "suspended")
	require.NoError(t, e.p.Start(ctx, inst.ID))
	check(dbaas.StatusProvisioning, "resuming")
	clock.Advance(time.Minute)
	check(dbaas.StatusAvailable, "active")
}

// TestCreateCancelledInFlight: the caller gives up while the create is
// out, the API still makes the database: Create says so and returns it.
func TestCreateCancelledInFlight(t *testing.T) {
	e := newEnv(t, fakeclock.NewAuto(epoch), linodesim.Options{}, nil)
	e.sim.Inject(linodesim.Fault{Op: "POST " + pgPath, Latency: time.Hour})
	// The lookup waits a little so that the abandoned POST is handled first.
	e.sim.Inject(linodesim.Fault{Op: "GET " + pgPath, Latency: 500 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for e.sim.FaultHits() == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	inst, err := e.p.Create(ctx, spec("abandoned", dbaas.Postgres))
	require.ErrorIs(t, err, context.Canceled)
	require.NotNil(t, inst, "the database the API made is reported")
	assert.Contains(t, err.Error(), inst.ID)
	list, err := e.p.List(context.Background())
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, inst.ID, list[0].ID)
}

func TestPrivateNetworkIsSent(t *testing.T) {
	e := newEnv(t, fakeclock.NewAuto(epoch), linodesim.Options{}, nil)
	s := spec("in-vpc", dbaas.Postgres)
	s.PrivateNetwork, s.Subnet, s.PublicAccess = "1234", "5678", true
	inst, err := e.p.Create(context.Background(), s)
	require.NoError(t, err)
	var client *linodego.Client
	require.True(t, e.p.As(&client))
	var num int
	_, err = fmt.Sscanf(inst.ID, "postgresql/%d", &num)
	require.NoError(t, err)
	db, err := client.GetPostgresDatabase(context.Background(), num)
	require.NoError(t, err)
	require.NotNil(t, db.PrivateNetwork)
	assert.Equal(t, linodego.DatabasePrivateNetwork{VPCID: 1234, SubnetID: 5678, PublicAccess: true}, *db.PrivateNetwork)
}

// TestPacingKeepsInsideTheLimit: with the provider paced like the API's
// limit, a burst waits for the next window (on the shared simulated clock)
// instead of being refused.
func TestPacingKeepsInsideTheLimit(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, linodesim.Options{RateLimit: simkit.Rate{Limit: 5, Window: time.Minute}},
		map[string]string{linode.SettingRateLimit: "5/1m"})
	ctx := context.Background()
	inst, err := e.p.Create(ctx, spec("paced", dbaas.MySQL))
	require.NoError(t, err)
	start := clock.Now()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 3 {
				_, err := e.p.Get(ctx, inst.ID)
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	assert.Zero(t, e.sim.RateLimited(), "no request was refused")
	assert.EqualValues(t, 13, e.sim.TotalCalls())
	elapsed := clock.Now().Sub(start)
	assert.GreaterOrEqual(t, elapsed, 2*time.Minute, "13 calls at 5 a minute span three windows")
	assert.Less(t, elapsed, 3*time.Minute)
}

func TestDeleteGoesThroughDeleting(t *testing.T) {
	clock := fakeclock.New(epoch)
	e := newEnv(t, clock, linodesim.Options{DeleteDelay: 5 * time.Minute}, nil)
	ctx := context.Background()
	inst, err := e.p.Create(ctx, spec("doomed", dbaas.MySQL))
	require.NoError(t, err)
	require.NoError(t, e.p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}))
	got, err := e.p.Get(ctx, inst.ID)
	require.NoError(t, err)
	assert.Equal(t, dbaas.StatusDeleting, got.Status)
	assert.Equal(t, "deleting", got.RawStatus)
	_, err = dbaas.Wait(ctx, e.p, inst.ID, dbaas.WaitOptions{Clock: clock})
	require.ErrorIs(t, err, dbaas.ErrConflict, "waiting on a deleting instance ends at once")
	clock.Advance(5 * time.Minute)
	_, err = e.p.Get(ctx, inst.ID)
	require.ErrorIs(t, err, dbaas.ErrNotFound)
	require.ErrorIs(t, e.p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}), dbaas.ErrNotFound)
	list, err := e.p.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)
}
