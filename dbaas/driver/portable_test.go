package driver_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/driver"
)

// cloudError is an SDK error the fake driver returns raw.
type cloudError struct{ status int }

func (e *cloudError) Error() string { return "cloud answered " + http(e.status) }

func http(n int) string {
	return map[int]string{404: "404 not found", 429: "429 too many requests", 500: "500 boom"}[n]
}

// fake is a driver that records the calls that reach it and answers with
// err when set.
type fake struct {
	mu     sync.Mutex
	calls  []string
	err    error
	closed int
}

func (f *fake) record(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, op)
	return f.err
}

func (f *fake) reached() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fake) Create(_ context.Context, s dbaas.Spec) (*dbaas.Instance, error) {
	return &dbaas.Instance{ID: "i-1", Name: s.Name}, f.record("create")
}
func (f *fake) Get(context.Context, string) (*dbaas.Instance, error) {
	return &dbaas.Instance{ID: "i-1"}, f.record("get")
}
func (f *fake) List(context.Context) ([]*dbaas.Instance, error)           { return nil, f.record("list") }
func (f *fake) Delete(context.Context, string, dbaas.DeleteOptions) error { return f.record("delete") }
func (f *fake) Connection(context.Context, string) (*dbaas.ConnectionInfo, error) {
	return nil, f.record("connection")
}
func (f *fake) Allow(context.Context, string, []dbaas.Source) error  { return f.record("allow") }
func (f *fake) Revoke(context.Context, string, []dbaas.Source) error { return f.record("revoke") }
func (f *fake) Access(context.Context, string) ([]dbaas.Source, error) {
	return nil, f.record("access")
}
func (f *fake) Backup(context.Context, string, string) (*dbaas.Backup, error) {
	return nil, f.record("backup")
}
func (f *fake) Backups(context.Context, string) ([]*dbaas.Backup, error) {
	return nil, f.record("backups")
}
func (f *fake) Restore(context.Context, dbaas.RestorePoint, dbaas.Spec) (*dbaas.Instance, error) {
	return nil, f.record("restore")
}
func (f *fake) ErrorKind(err error) error {
	var ce *cloudError
	if errors.As(err, &ce) {
		switch ce.status {
		case 404:
			return dbaas.ErrNotFound
		case 429:
			return dbaas.ErrRateLimited
		}
	}
	return nil
}
func (f *fake) As(any) bool { return false }
func (f *fake) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed++
	return nil
}

var fakeCaps = dbaas.Capabilities{
	Engines:       []dbaas.Engine{dbaas.Postgres},
	SourceKinds:   []dbaas.SourceKind{dbaas.SourceCIDR},
	Provision:     true,
	Access:        true,
	ListBackups:   true,
	Restore:       true,
	RefusedFields: []string{"Port"},
}

func open(t *testing.T, obs dbaas.Observer) (dbaas.Provider, *fake) {
	t.Helper()
	f := &fake{}
	info := driver.Info{Capabilities: fakeCaps, SpecOptions: []string{"tier"},
		Open: func(context.Context, dbaas.Config) (driver.Driver, error) { return f, nil }}
	p, err := driver.Open(context.Background(), "fakecloud", info, dbaas.Config{Observer: obs})
	require.NoError(t, err)
	return p, f
}

func spec() dbaas.Spec {
	return dbaas.Spec{Name: "shop", Engine: dbaas.Postgres, Size: "small"}
}

func TestPortableRefusesBeforeTheDriver(t *testing.T) {
	ctx := context.Background()
	withPort := spec()
	withPort.Port = 5433
	withEngine := spec()
	withEngine.Engine = dbaas.MySQL
	withOption := spec()
	withOption.Options = map[string]string{"colour": "blue"}
	badName := spec()
	badName.Name = "Shop!"
	sg := dbaas.Source{Kind: dbaas.SourceSecurityGroup, Value: "sg-1"}
	world := dbaas.MustParseSource("0.0.0.0/0")
	tests := []struct {
		name  string
		call  func(p dbaas.Provider) error
		kind  error
		words string
	}{
		{"invalid spec", func(p dbaas.Provider) error { _, err := p.Create(ctx, badName); return err }, dbaas.ErrInvalidArgument, "fakecloud: create Shop!: invalid argument: name"},
		{"refused field", func(p dbaas.Provider) error { _, err := p.Create(ctx, withPort); return err }, dbaas.ErrUnsupported, "spec field Port"},
		{"engine", func(p dbaas.Provider) error { _, err := p.Create(ctx, withEngine); return err }, dbaas.ErrUnsupported, "engine mysql is not supported"},
		{"unknown option", func(p dbaas.Provider) error { _, err := p.Create(ctx, withOption); return err }, dbaas.ErrInvalidArgument, "options[colour]: is unknown: known options are tier"},
		{"empty id", func(p dbaas.Provider) error { _, err := p.Get(ctx, ""); return err }, dbaas.ErrInvalidArgument, "fakecloud: get: invalid argument: id: is empty"},
		{"overlong id", func(p dbaas.Provider) error { _, err := p.Get(ctx, string(make([]byte, 65536))); return err }, dbaas.ErrNotFound, "no instance or backup has an id of 65536 bytes"},
		{"no sources", func(p dbaas.Provider) error { return p.Allow(ctx, "i-1") }, dbaas.ErrInvalidArgument, "sources: at least one is required"},
		{"source kind", func(p dbaas.Provider) error { return p.Allow(ctx, "i-1", sg) }, dbaas.ErrUnsupported, "source kind sg"},
		{"world", func(p dbaas.Provider) error { return p.Allow(ctx, "i-1", world) }, dbaas.ErrInvalidArgument, "opens the database to the whole internet"},
		{"final backup", func(p dbaas.Provider) error { return p.Delete(ctx, "i-1", dbaas.DeleteOptions{}) }, dbaas.ErrUnsupported, "cannot take a final backup"},
		{"on-demand backup", func(p dbaas.Provider) error { _, err := p.Backup(ctx, "i-1", ""); return err }, dbaas.ErrUnsupported, "cannot backup"},
		{"point in time", func(p dbaas.Provider) error {
			_, err := p.Restore(ctx, dbaas.AtTime("i-1", time.Now()), spec())
			return err
		}, dbaas.ErrUnsupported, "cannot restore to a point in time"},
		{"empty restore point", func(p dbaas.Provider) error { _, err := p.Restore(ctx, dbaas.RestorePoint{}, spec()); return err }, dbaas.ErrInvalidArgument, "from: is empty"},
		{"start", func(p dbaas.Provider) error { return p.(dbaas.Starter).Start(ctx, "i-1") }, dbaas.ErrUnsupported, "cannot start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, f := open(t, nil)
			err := tt.call(p)
			require.ErrorIs(t, err, tt.kind)
			assert.Contains(t, err.Error(), tt.words)
			assert.LessOrEqual(t, len(err.Error()), 400, "input is clipped in errors")
			var de *dbaas.Error
			require.ErrorAs(t, err, &de)
			assert.Equal(t, "fakecloud", de.Provider)
			assert.Empty(t, f.reached(), "refused before the driver")
		})
	}
}

func TestPortableWrapsDriverErrorsOnce(t *testing.T) {
	ctx := context.Background()
	p, f := open(t, nil)
	f.err = &cloudError{status: 404}
	_, err := p.Get(ctx, "i-9")
	require.ErrorIs(t, err, dbaas.ErrNotFound)
	var ce *cloudError
	require.ErrorAs(t, err, &ce, "the SDK error stays reachable")
	assert.Equal(t, "fakecloud: get i-9: not found: cloud answered 404 not found", err.Error())

	f.err = &cloudError{status: 500}
	err = p.Allow(ctx, "i-9", dbaas.MustParseSource("10.0.0.0/8"))
	assert.Nil(t, dbaas.Kind(err), "an error no sentinel fits keeps no kind")
	assert.Equal(t, "fakecloud: allow i-9: cloud answered 500 boom", err.Error())

	f.err = &dbaas.Error{Kind: dbaas.ErrConflict, Err: errors.New("instance is busy")}
	_, err = p.Create(ctx, spec())
	require.ErrorIs(t, err, dbaas.ErrConflict)
	assert.Equal(t, "fakecloud: create shop: conflict: instance is busy", err.Error())

	f.err = context.Canceled
	_, err = p.List(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, dbaas.Kind(err))
}

func TestPortableCloseIsFinal(t *testing.T) {
	ctx := context.Background()
	p, f := open(t, nil)
	require.NoError(t, p.Close())
	require.NoError(t, p.Close(), "a second Close is fine")
	assert.Equal(t, 1, f.closed, "the driver is closed once")
	_, err := p.Get(ctx, "i-1")
	require.ErrorIs(t, err, dbaas.ErrConflict)
	assert.Contains(t, err.Error(), "the provider is closed")
	assert.Empty(t, f.reached())
}

// recorder is an Observer that keeps what it was told.
type recorder struct {
	mu    sync.Mutex
	begun []dbaas.Call
	ended []error
}

type spanKey struct{}

func (r *recorder) Begin(ctx context.Context, c dbaas.Call) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.begun = append(r.begun, c)
	return context.WithValue(ctx, spanKey{}, c.Op)
}

func (r *recorder) End(ctx context.Context, c dbaas.Call, d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ctx.Value(spanKey{}) != c.Op {
		panic("End did not get the context Begin returned")
	}
	r.ended = append(r.ended, err)
}

func TestPortableObservesCallsThatReachTheDriver(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	p, f := open(t, rec)
	_, _ = p.Get(ctx, "")
	_, err := p.Get(ctx, "i-1")
	require.NoError(t, err)
	f.err = &cloudError{status: 429}
	_, err = p.List(ctx)
	require.ErrorIs(t, err, dbaas.ErrRateLimited)

	require.Len(t, rec.begun, 2, "a refused call is not a call")
	assert.Equal(t, dbaas.Call{Provider: "fakecloud", Op: "get", ID: "i-1", Start: rec.begun[0].Start}, rec.begun[0])
	assert.Equal(t, "list", rec.begun[1].Op)
	assert.NoError(t, rec.ended[0])
	assert.ErrorIs(t, rec.ended[1], dbaas.ErrRateLimited, "End sees the wrapped error")
}

// registrations numbers the providers the tests register: the registry
// is the process's, and a name registers once (go test -count=N runs a
// test N times in one process).
var registrations atomic.Int64

func TestRegisterMakesCapabilitiesKnownWithoutOpening(t *testing.T) {
	opened := false
	name := fmt.Sprintf("fakecloud-registered-%d", registrations.Add(1))
	driver.Register(name, driver.Info{Capabilities: fakeCaps, Settings: []string{"retries"},
		Open: func(context.Context, dbaas.Config) (driver.Driver, error) { opened = true; return &fake{}, nil }})
	caps, err := dbaas.CapabilitiesOf(name)
	require.NoError(t, err)
	assert.Equal(t, fakeCaps, caps)
	assert.False(t, opened)

	_, err = dbaas.Open(context.Background(), name, dbaas.Config{Settings: map[string]string{"retires": "3"}})
	require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "settings.retires: is unknown: known settings are retries")
	assert.False(t, opened, "an unknown setting is refused before Open")
	for _, u := range []string{"ftp://sim.example", "127.0.0.1:8080", "http://", "sim.example/v2"} {
		_, err = dbaas.Open(context.Background(), name, dbaas.Config{BaseURL: u})
		require.ErrorIs(t, err, dbaas.ErrInvalidArgument, u)
		assert.Contains(t, err.Error(), "base_url: ", u)
	}
	assert.False(t, opened, "a base URL no client could use is refused before Open")
	p, err := dbaas.Open(context.Background(), name, dbaas.Config{Settings: map[string]string{"retries": "3"}})
	require.NoError(t, err)
	assert.True(t, opened)
	require.NoError(t, p.Close())
}
