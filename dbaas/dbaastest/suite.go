package dbaastest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Harness defaults.
const (
	DefaultNamePrefix  = "conf"
	DefaultConcurrency = 16
	DefaultTimeout     = 2 * time.Minute
	// maxPrefixLen leaves room in a 32-character name for the run token,
	// the subtest's tag and a counter.
	maxPrefixLen = 12
)

// suite holds what the subtests of one RunConformance share.
type suite struct {
	h      Harness
	p      dbaas.Provider
	caps   dbaas.Capabilities
	engine dbaas.Engine
	// run is a random token in every name, so that a rerun against a
	// provider that keeps state never meets the names of an earlier run.
	run   string
	clock dbaas.Clock
	poll  time.Duration

	mu  sync.Mutex
	seq int
	ids []string

	fixtureOnce sync.Once
	fixture     *dbaas.Instance
	fixtureErr  error
	// fixtureSpec made the shared instance, with fixturePassword as its
	// admin password ("" when the provider chose one);
	// fixtureCreated is what Create returned.
	fixtureSpec     dbaas.Spec
	fixturePassword string
	fixtureCreated  *dbaas.Instance
	parent          *testing.T
}

func newSuite(t *testing.T, h Harness) *suite {
	t.Helper()
	require.NotNil(t, h.Provider, "Harness.Provider is required")
	require.NotNil(t, h.Spec, "Harness.Spec is required")
	require.Equal(t, h.WriteData == nil, h.ReadData == nil, "Harness.WriteData and ReadData go together")
	if h.NamePrefix == "" {
		h.NamePrefix = DefaultNamePrefix
	}
	require.LessOrEqual(t, len(h.NamePrefix), maxPrefixLen, "Harness.NamePrefix must be at most %d characters", maxPrefixLen)
	caps := h.Provider.Capabilities()
	if len(h.Engines) == 0 && len(caps.Engines) > 0 {
		h.Engines = caps.Engines[:1]
	}
	if h.Concurrency <= 0 {
		h.Concurrency = DefaultConcurrency
	}
	if h.Timeout <= 0 {
		h.Timeout = DefaultTimeout
	}
	s := &suite{h: h, p: h.Provider, caps: caps, run: randomHex(2), parent: t}
	if len(h.Engines) > 0 {
		s.engine = h.Engines[0]
	}
	s.clock = h.Wait.Clock
	if s.clock == nil {
		s.clock = dbaas.SystemClock{}
	}
	s.poll = h.Wait.FirstDelay
	if s.poll <= 0 {
		s.poll = dbaas.DefaultFirstDelay
	}
	if h.MissingID == "" {
		s.h.MissingID = h.NamePrefix + "-" + s.run + "-missing"
	}
	if h.MissingBackupID == "" {
		s.h.MissingBackupID = h.NamePrefix + "-" + s.run + "-nobackup"
	}
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// name returns a new unique instance name carrying tag.
func (s *suite) name(tag string) string {
	s.mu.Lock()
	s.seq++
	n := s.seq
	s.mu.Unlock()
	return fmt.Sprintf("%s-%s-%s%d", s.h.NamePrefix, s.run, tag, n)
}

// spec returns the harness's spec for a new instance.
func (s *suite) spec(tag string, engine dbaas.Engine) dbaas.Spec {
	return s.h.Spec(s.name(tag), engine)
}

// ctx returns a context bounded by the harness timeout and cancelled when
// the test ends.
func (s *suite) ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), s.h.Timeout)
	t.Cleanup(cancel)
	return ctx
}

// track records id for Harness.Cleanup and deletes it when t ends.
func (s *suite) track(t testing.TB, id string) {
	s.mu.Lock()
	s.ids = append(s.ids, id)
	s.mu.Unlock()
	t.Cleanup(func() { s.remove(t, id) })
}

// remove deletes id without a final backup; an instance already gone is
// fine.
func (s *suite) remove(t testing.TB, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), s.h.Timeout)
	defer cancel()
	err := s.p.Delete(ctx, id, dbaas.DeleteOptions{SkipFinalBackup: true})
	if err != nil && !errors.Is(err, dbaas.ErrNotFound) && !errors.Is(err, dbaas.ErrConflict) {
		t.Logf("cleanup: delete %s: %v", id, err)
	}
}

// create creates spec and tracks the instance for cleanup.
func (s *suite) create(t testing.TB, ctx context.Context, spec dbaas.Spec) *dbaas.Instance {
	t.Helper()
	inst, err := s.p.Create(ctx, spec)
	require.NoError(t, err, "create %s", spec.Name)
	require.NotNil(t, inst, "create %s returned no instance", spec.Name)
	require.NotEmpty(t, inst.ID, "create %s returned no id", spec.Name)
	s.track(t, inst.ID)
	return inst
}

// wait waits until id is available and checks its endpoint.
func (s *suite) wait(t testing.TB, ctx context.Context, id string) *dbaas.Instance {
	t.Helper()
	inst, err := dbaas.Wait(ctx, s.p, id, s.h.Wait)
	require.NoError(t, err, "wait for %s", id)
	require.Equal(t, dbaas.StatusAvailable, inst.Status)
	require.NoError(t, inst.Endpoint.Validate(), "endpoint of available instance %s", id)
	return inst
}

// createAvailable creates an instance of the first engine and waits for it.
func (s *suite) createAvailable(t testing.TB, ctx context.Context, tag string) (*dbaas.Instance, dbaas.Spec) {
	t.Helper()
	spec := s.spec(tag, s.engine)
	inst := s.create(t, ctx, spec)
	return s.wait(t, ctx, inst.ID), spec
}

// shared returns an available instance that subtests which do not change
// its life cycle share, to spare slow providers a create each. It is
// created with a chosen admin password (without one when the provider
// refuses it), and deleted when RunConformance ends.
func (s *suite) shared(t testing.TB) *dbaas.Instance {
	t.Helper()
	s.fixtureOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.h.Timeout)
		defer cancel()
		spec := s.spec("fix", s.engine)
		password := "Cf" + randomHex(12)
		spec.AdminPassword = dbaas.NewSecret(password)
		inst, err := s.p.Create(ctx, spec)
		if errors.Is(err, dbaas.ErrUnsupported) || errors.Is(err, dbaas.ErrInvalidArgument) {
			s.parent.Logf("the provider refuses a chosen admin password (%v): the shared instance uses its own", err)
			spec.AdminPassword, password = dbaas.Secret{}, ""
			inst, err = s.p.Create(ctx, spec)
		}
		if err != nil {
			s.fixtureErr = fmt.Errorf("create %s: %w", spec.Name, err)
			return
		}
		s.track(s.parent, inst.ID)
		s.fixtureSpec, s.fixturePassword = spec, password
		s.fixtureCreated = inst
		s.fixture, s.fixtureErr = dbaas.Wait(ctx, s.p, inst.ID, s.h.Wait)
	})
	require.NoError(t, s.fixtureErr, "shared instance")
	return s.fixture
}

// sleep pauses d on the harness clock (a fake clock moves instead).
func (s *suite) sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.clock.After(d):
		return nil
	}
}

// waitGone polls Get until id is ErrNotFound. Until then the instance
// must say it is deleting.
func (s *suite) waitGone(ctx context.Context, id string) error {
	for {
		inst, err := s.p.Get(ctx, id)
		switch {
		case errors.Is(err, dbaas.ErrNotFound):
			return nil
		case err != nil:
			return fmt.Errorf("get %s after delete: %w", id, err)
		case inst.Status != dbaas.StatusDeleting:
			return fmt.Errorf("get %s after delete: status %s, want deleting or ErrNotFound", id, inst.Status)
		}
		if err := s.sleep(ctx, s.poll); err != nil {
			return fmt.Errorf("instance %s still deleting: %w", id, err)
		}
	}
}

// names returns the names of the instances whose name starts with the
// harness prefix, by id.
func (s *suite) names(t testing.TB, ctx context.Context) map[string]string {
	t.Helper()
	list, err := s.p.List(ctx)
	require.NoError(t, err, "list")
	out := map[string]string{}
	for _, inst := range list {
		require.NotNil(t, inst, "list holds a nil instance")
		if strings.HasPrefix(inst.Name, s.h.NamePrefix+"-"+s.run) {
			out[inst.ID] = inst.Name
		}
	}
	return out
}

func (s *suite) calls() int64 {
	if s.h.Calls == nil {
		return 0
	}
	return s.h.Calls()
}

// refused runs call, which must fail with want and create no instance;
// with noCalls (input a provider can check by itself) it must make no API
// call either, when the harness counts them.
func (s *suite) refused(t testing.TB, ctx context.Context, want error, noCalls bool, call func() error) error {
	t.Helper()
	before := s.names(t, ctx)
	c0 := s.calls()
	err := call()
	c1 := s.calls()
	require.Error(t, err)
	require.ErrorIs(t, err, want)
	if s.h.Calls != nil && noCalls {
		assert.Equal(t, c0, c1, "refused input made %d API calls", c1-c0)
	}
	assert.Equal(t, before, s.names(t, ctx), "refused input changed the instance list")
	return err
}

// sourceExample returns a valid example source of kind k.
func (s *suite) sourceExample(k dbaas.SourceKind) dbaas.Source {
	if src, ok := s.h.Sources[k]; ok {
		return src
	}
	switch k {
	case dbaas.SourceCIDR:
		return dbaas.CIDR("192.0.2.0/24")
	case dbaas.SourceSecurityGroup:
		return dbaas.Source{Kind: k, Value: "sg-0123456789abcdef0"}
	case dbaas.SourceTag:
		return dbaas.Source{Kind: k, Value: "conf-web"}
	case dbaas.SourceInstance:
		return dbaas.Source{Kind: k, Value: "3164444"}
	case dbaas.SourceVPC:
		return dbaas.Source{Kind: k, Value: "vpc-0123456789abcdef0"}
	case dbaas.SourceKubernetes:
		return dbaas.Source{Kind: k, Value: "bd5f5959-5e1e-4205-a714-a914373942af"}
	case dbaas.SourceApp:
		return dbaas.Source{Kind: k, Value: "c2a93513-8d9b-4223-9d61-5e7272c81cf5"}
	}
	return dbaas.Source{Kind: k, Value: "example"}
}

func sourceSet(list []dbaas.Source) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.String()
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// backupsOf polls Backups of id until match finds a backup there whose
// status is available, and returns it.
func (s *suite) backupsOf(ctx context.Context, id string, match func(*dbaas.Backup) bool) (*dbaas.Backup, error) {
	for {
		list, err := s.p.Backups(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("backups %s: %w", id, err)
		}
		var found *dbaas.Backup
		for _, b := range list {
			if b != nil && match(b) {
				found = b
			}
		}
		if found != nil && found.Status == dbaas.BackupAvailable {
			return found, nil
		}
		if err := s.sleep(ctx, s.poll); err != nil {
			if found == nil {
				return nil, fmt.Errorf("backups %s: the backup never appeared: %w", id, err)
			}
			return nil, fmt.Errorf("backups %s: backup %s still %s: %w", id, found.ID, found.Status, err)
		}
	}
}

// write stores value in the instance's database through the harness.
func (s *suite) write(t testing.TB, ctx context.Context, id, value string) {
	t.Helper()
	conn, err := s.p.Connection(ctx, id)
	require.NoError(t, err, "connection %s", id)
	require.NoError(t, s.h.WriteData(ctx, conn, value), "write data to %s", id)
}

// read returns the values the harness reads from the instance.
func (s *suite) read(t testing.TB, ctx context.Context, id string) []string {
	t.Helper()
	conn, err := s.p.Connection(ctx, id)
	require.NoError(t, err, "connection %s", id)
	values, err := s.h.ReadData(ctx, conn)
	require.NoError(t, err, "read data from %s", id)
	return values
}

// restoreAndCheck restores ref into a new instance, waits for it and,
// with data hooks, checks it holds want and not unwanted.
func (s *suite) restoreAndCheck(t testing.TB, ctx context.Context, ref dbaas.RestorePoint, sourceID string, want, unwanted []string) *dbaas.Instance {
	t.Helper()
	spec := s.spec("rst", s.engine)
	inst, err := s.p.Restore(ctx, ref, spec)
	require.NoError(t, err, "restore %s", ref)
	require.NotNil(t, inst)
	require.NotEmpty(t, inst.ID)
	s.track(t, inst.ID)
	assert.NotEqual(t, sourceID, inst.ID, "a restore makes a new instance")
	assert.Equal(t, spec.Name, inst.Name)
	ready := s.wait(t, ctx, inst.ID)
	assert.Equal(t, spec.Engine, ready.Engine)
	if s.h.ReadData != nil {
		got := s.read(t, ctx, inst.ID)
		for _, v := range want {
			assert.Contains(t, got, v, "restored instance lacks data written before the backup")
		}
		for _, v := range unwanted {
			assert.NotContains(t, got, v, "restored instance holds data written after the backup")
		}
	}
	return ready
}
