package dbaas

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEnsureCreatesThenReuses(t *testing.T) {
	p := &scriptedProvider{}
	spec := Spec{Name: "shop", Engine: Postgres, Size: "small"}
	inst, created, err := Ensure(context.Background(), p, spec)
	require.NoError(t, err)
	assert.True(t, created)
	again, created, err := Ensure(context.Background(), p, spec)
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, inst.ID, again.ID)
	assert.EqualValues(t, 1, p.creates.Load())
}

func TestEnsureRefusesOtherEngine(t *testing.T) {
	p := &scriptedProvider{}
	_, _, err := Ensure(context.Background(), p, Spec{Name: "shop", Engine: MySQL, Size: "small"})
	require.NoError(t, err)
	_, _, err = Ensure(context.Background(), p, Spec{Name: "shop", Engine: Postgres, Size: "small"})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrConflict)
	assert.Contains(t, err.Error(), "exists with engine mysql, not postgres")
	assert.EqualValues(t, 1, p.creates.Load())
}

func TestEnsureInvalidSpecMakesNoCall(t *testing.T) {
	p := &scriptedProvider{}
	_, _, err := Ensure(context.Background(), p, Spec{Name: "Bad Name"})
	assert.ErrorIs(t, err, ErrInvalidArgument)
	assert.Zero(t, p.lists.Load()+p.creates.Load())
	_, _, err = Ensure(context.Background(), nil, Spec{})
	assert.ErrorIs(t, err, ErrInvalidArgument)
}

func TestEnsureRaceWithAnotherCreator(t *testing.T) {
	p := &scriptedProvider{}
	// Someone else creates it between our List and our Create.
	p.onCreate = func() {
		p.mu.Lock()
		p.instances = map[string]*Instance{"other": {ID: "other", Name: "shop", Engine: Postgres}}
		p.mu.Unlock()
	}
	p.createErr = &Error{Op: "create", ID: "shop", Kind: ErrAlreadyExists}
	inst, created, err := Ensure(context.Background(), p, Spec{Name: "shop", Engine: Postgres, Size: "small"})
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, "other", inst.ID)
}

func TestSyncAccessChangesOnlyTheDifference(t *testing.T) {
	p := &scriptedProvider{access: []Source{MustParseSource("10.0.0.1"), MustParseSource("10.0.0.2"), MustParseSource("tag:old")}}
	desired := []Source{MustParseSource("10.0.0.2"), MustParseSource("10.0.0.3"), MustParseSource("10.0.0.3")}
	ch, err := SyncAccess(context.Background(), p, "db", desired)
	require.NoError(t, err)
	assert.Equal(t, []Source{MustParseSource("10.0.0.3")}, ch.Added)
	assert.Equal(t, []Source{MustParseSource("10.0.0.1"), MustParseSource("tag:old")}, ch.Removed)
	assert.EqualValues(t, 1, p.accessN.Load())
	assert.Len(t, p.allows, 1)
	assert.Len(t, p.revokes, 1)
	assert.ElementsMatch(t, []Source{MustParseSource("10.0.0.2"), MustParseSource("10.0.0.3")}, p.access)

	// Converged: one read, no write.
	ch, err = SyncAccess(context.Background(), p, "db", desired)
	require.NoError(t, err)
	assert.True(t, ch.Empty())
	assert.Len(t, p.allows, 1)
	assert.Len(t, p.revokes, 1)
}

func TestSyncAccessKeepsTheKindsAskedFor(t *testing.T) {
	p := &scriptedProvider{access: []Source{MustParseSource("10.0.0.1"), MustParseSource("sg:sg-0123456789abcdef0"), MustParseSource("tag:old")}}
	ch, err := SyncAccess(context.Background(), p, "db", []Source{MustParseSource("10.0.0.2")}, KeepKinds(SourceSecurityGroup))
	require.NoError(t, err)
	assert.Equal(t, []Source{MustParseSource("10.0.0.2")}, ch.Added)
	assert.Equal(t, []Source{MustParseSource("10.0.0.1"), MustParseSource("tag:old")}, ch.Removed, "other kinds are synced")
	assert.ElementsMatch(t, []Source{MustParseSource("sg:sg-0123456789abcdef0"), MustParseSource("10.0.0.2")}, p.access, "the group stays")
}

func TestSyncAccessRefusesWorldAndBadInput(t *testing.T) {
	p := &scriptedProvider{}
	_, err := SyncAccess(context.Background(), p, "db", []Source{CIDR("0.0.0.0/0")})
	assert.ErrorIs(t, err, ErrInvalidArgument)
	assert.Contains(t, err.Error(), "AllowWorld")
	assert.Zero(t, p.accessN.Load(), "refused before any call")
	_, err = SyncAccess(context.Background(), p, "db", []Source{CIDR("0.0.0.0/0")}, AllowWorld())
	assert.NoError(t, err)
	_, err = SyncAccess(context.Background(), p, "db", []Source{{Kind: "bogus", Value: "x"}})
	assert.ErrorIs(t, err, ErrInvalidArgument)
	_, err = SyncAccess(context.Background(), nil, "db", nil)
	assert.ErrorIs(t, err, ErrInvalidArgument)
	_, err = SyncAccess(context.Background(), p, "", nil)
	assert.ErrorIs(t, err, ErrInvalidArgument)
}

func TestCheckPort(t *testing.T) {
	inst := &Instance{ID: "db-1", Endpoint: Endpoint{Host: "h", Port: 25060}}
	assert.NoError(t, CheckPort(inst, 25060))
	assert.NoError(t, CheckPort(inst, 0))
	err := CheckPort(inst, 5432)
	require.Error(t, err)
	var pm *PortMismatchError
	require.True(t, errors.As(err, &pm))
	assert.Equal(t, 5432, pm.Configured)
	assert.Equal(t, 25060, pm.Actual)
	assert.ErrorIs(t, err, ErrConflict)
	assert.Contains(t, err.Error(), "configured port 5432")
	assert.Contains(t, err.Error(), "listens on 25060")
	assert.Contains(t, err.Error(), "set the configured database port")
	assert.Empty(t, pm.Provider, "an instance of no registered provider")
	assert.Contains(t, err.Error(), "or recreate the instance with port 5432")
	assert.ErrorIs(t, CheckPort(nil, 1), ErrInvalidArgument)
	assert.ErrorIs(t, CheckPort(inst, -1), ErrInvalidArgument)
	assert.ErrorIs(t, CheckPort(&Instance{ID: "x", Status: StatusProvisioning}, 5432), ErrConflict)
}

// registerTestProviders registers the registry test's providers once per
// test binary: the registry is process-wide, and -count=N runs the test N
// times.
var registerTestProviders sync.Once

func TestRegistry(t *testing.T) {
	opener := func(ctx context.Context, cfg Config) (Provider, error) { return &scriptedProvider{}, nil }
	registerTestProviders.Do(func() {
		Register("test-registry-a", Capabilities{Engines: []Engine{MySQL}}, opener)
		Register("test-registry-0", Capabilities{}, func(ctx context.Context, cfg Config) (Provider, error) {
			return nil, errors.New("no token")
		})
	})
	assert.Panics(t, func() { Register("test-registry-a", Capabilities{}, opener) })
	assert.Panics(t, func() { Register("", Capabilities{}, opener) })
	assert.Panics(t, func() { Register("x-nil", Capabilities{}, nil) })
	names := Providers()
	assert.IsNonDecreasing(t, names)
	assert.Contains(t, names, "test-registry-a")

	p, err := Open(context.Background(), "test-registry-a", Config{})
	require.NoError(t, err)
	assert.NotNil(t, p)
	_, err = Open(context.Background(), "test-registry-0", Config{})
	assert.EqualError(t, err, "open test-registry-0: no token")
	_, err = Open(context.Background(), "nope", Config{})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrInvalidArgument)
	assert.Contains(t, err.Error(), `open "nope": unknown provider: known providers are`)
	assert.Contains(t, err.Error(), "test-registry-0, test-registry-a")

	caps, err := CapabilitiesOf("test-registry-a")
	require.NoError(t, err, "capabilities are known without opening the provider")
	assert.Equal(t, []Engine{MySQL}, caps.Engines)
	_, err = CapabilitiesOf("nope")
	assert.ErrorIs(t, err, ErrInvalidArgument)
}

func TestRestorePoint(t *testing.T) {
	at := mustTime(t, "2026-01-02T03:04:05Z")
	assert.NoError(t, FromBackup("snap-1").Validate())
	assert.NoError(t, AtTime("db-1", at).Validate())
	assert.True(t, AtTime("db-1", at).IsPointInTime())
	assert.False(t, FromBackup("snap-1").IsPointInTime())
	assert.Equal(t, "db-1 at 2026-01-02T03:04:05Z", AtTime("db-1", at).String())
	assert.Equal(t, "backup snap-1", FromBackup("snap-1").String())
	for name, bad := range map[string]RestorePoint{
		"empty":             {},
		"both":              {BackupID: "snap-1", InstanceID: "db-1", Time: at},
		"instance, no time": {InstanceID: "db-1"},
		"backup with time":  {BackupID: "snap-1", Time: at},
		"empty backup":      FromBackup(""),
	} {
		err := bad.Validate()
		assert.ErrorIs(t, err, ErrInvalidArgument, name)
		assert.Contains(t, err.Error(), "from", name)
	}
}

// requireInvalidFields asserts that err is an invalid-argument error
// naming exactly fields.
func requireInvalidFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrInvalidArgument)
	ve, ok := AsValidationError(err)
	require.True(t, ok, "a ValidationError: %v", err)
	assert.Equal(t, fields, ve.Fields())
}
