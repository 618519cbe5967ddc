package memory_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/providers/memory"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var start = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// newManual returns a provider on a clock that moves only by Advance.
func newManual(t *testing.T, opts memory.Options) (*memory.Provider, *fakeclock.Clock) {
	t.Helper()
	clock := fakeclock.New(start)
	opts.Clock = clock
	return memory.New(opts), clock
}

func spec(name string) dbaas.Spec {
	return dbaas.Spec{Name: name, Engine: dbaas.Postgres, Size: "small"}
}

// available creates an instance and moves the clock past its provisioning.
func available(t *testing.T, p *memory.Provider, clock *fakeclock.Clock, s dbaas.Spec) *dbaas.Instance {
	t.Helper()
	ctx := context.Background()
	inst, err := p.Create(ctx, s)
	require.NoError(t, err)
	clock.Advance(time.Hour)
	inst, err = p.Get(ctx, inst.ID)
	require.NoError(t, err)
	require.Equal(t, dbaas.StatusAvailable, inst.Status)
	return inst
}

func TestOpenSettings(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		settings map[string]string
		wantErr  string
		delay    time.Duration
	}{
		{"defaults", nil, "", 0},
		{"provision delay", map[string]string{"provision_delay": "2m"}, "", 2 * time.Minute},
		{"all delays", map[string]string{"provision_delay": "1s", "backup_delay": "2s", "delete_delay": "3s"}, "", time.Second},
		{"unknown key", map[string]string{"provision_dealy": "1s"}, `settings.provision_dealy: is unknown`, 0},
		{"not a duration", map[string]string{"backup_delay": "soon"}, "settings.backup_delay", 0},
		{"negative", map[string]string{"delete_delay": "-1s"}, "settings.delete_delay", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := dbaas.Open(ctx, "memory", dbaas.Config{Settings: tt.settings})
			if tt.wantErr != "" {
				require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.delay, p.Capabilities().TypicalProvisioning)
			var mp *memory.Provider
			require.True(t, p.As(&mp), "As(**memory.Provider)")
			inst, err := p.Create(ctx, spec("shop"))
			require.NoError(t, err)
			got, err := mp.Get(ctx, inst.ID)
			require.NoError(t, err, "the *memory.Provider from As holds the instances of the provider")
			assert.Equal(t, inst.ID, got.ID)
		})
	}
}

func TestOpenGivesAFreshProviderEachTime(t *testing.T) {
	ctx := context.Background()
	a, err := dbaas.Open(ctx, "memory", dbaas.Config{Region: "eu"})
	require.NoError(t, err)
	b, err := dbaas.Open(ctx, "memory", dbaas.Config{})
	require.NoError(t, err)
	_, err = dbaas.Open(ctx, "memory", dbaas.Config{Region: "eu west"})
	require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "region")
	inst, err := a.Create(ctx, spec("shop"))
	require.NoError(t, err)
	assert.Equal(t, "eu", inst.Region, "Config.Region is the default region")
	list, err := b.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)
}

func TestProvisioningFollowsTheClock(t *testing.T) {
	ctx := context.Background()
	p, clock := newManual(t, memory.Options{ProvisionDelay: 10 * time.Minute})
	inst, err := p.Create(ctx, spec("shop"))
	require.NoError(t, err)
	assert.Equal(t, dbaas.StatusProvisioning, inst.Status)
	assert.True(t, inst.Endpoint.IsZero(), "no endpoint while provisioning")
	_, err = p.Connection(ctx, inst.ID)
	assert.ErrorIs(t, err, dbaas.ErrConflict)

	clock.Advance(10*time.Minute - time.Nanosecond)
	got, err := p.Get(ctx, inst.ID)
	require.NoError(t, err)
	assert.Equal(t, dbaas.StatusProvisioning, got.Status)

	clock.Advance(time.Nanosecond)
	got, err = p.Get(ctx, inst.ID)
	require.NoError(t, err)
	assert.Equal(t, dbaas.StatusAvailable, got.Status)
	assert.Equal(t, dbaas.Endpoint{Host: "127.0.0.1", Port: 5432}, got.Endpoint)
	assert.Equal(t, start, got.CreatedAt)
}

func TestWaitOnSimulatedTime(t *testing.T) {
	clock := fakeclock.NewAuto(start)
	p := memory.New(memory.Options{ProvisionDelay: 15 * time.Minute, Clock: clock})
	ctx := context.Background()
	inst, err := p.Create(ctx, spec("shop"))
	require.NoError(t, err)
	c0 := p.Calls()
	got, err := dbaas.Wait(ctx, p, inst.ID, dbaas.WaitOptions{Clock: clock})
	require.NoError(t, err)
	assert.Equal(t, dbaas.StatusAvailable, got.Status)
	assert.LessOrEqual(t, p.Calls()-c0, int64(8), "Wait uses TypicalProvisioning to poll seldom")
	assert.GreaterOrEqual(t, clock.Now().Sub(start), 15*time.Minute)
}

func TestCallsCountOnlyCallsThatRun(t *testing.T) {
	ctx := context.Background()
	p, clock := newManual(t, memory.Options{})
	bad := spec("Bad")
	_, err := p.Create(ctx, bad)
	require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
	withOption := spec("shop")
	withOption.Options = map[string]string{"tier": "gold"}
	_, err = p.Create(ctx, withOption)
	require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "options[tier]")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = p.Create(cancelled, spec("shop"))
	require.ErrorIs(t, err, context.Canceled)
	_, err = p.Get(ctx, "")
	require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
	assert.Equal(t, int64(0), p.Calls())

	inst := available(t, p, clock, spec("shop"))
	n := p.Calls()
	require.NoError(t, p.Put(ctx, inst.ID, "v"))
	_, err = p.Values(ctx, inst.ID)
	require.NoError(t, err)
	assert.Equal(t, n, p.Calls(), "the data store is not API")
	_, err = p.List(ctx)
	require.NoError(t, err)
	assert.Equal(t, n+1, p.Calls())
}

func TestCreateDefaultsAndSpecValues(t *testing.T) {
	ctx := context.Background()
	p, clock := newManual(t, memory.Options{})
	s := spec("custom")
	s.Engine = dbaas.MariaDB
	s.Port = 4406
	s.AdminUser = "shop"
	s.AdminPassword = dbaas.NewSecret("correct-horse-9")
	s.Database = "orders"
	s.PrivateNetwork = "vpc-1"
	s.Tags = map[string]string{"env": "test"}
	inst := available(t, p, clock, s)
	assert.Equal(t, "10.11", inst.Version)
	assert.Equal(t, memory.DefaultRegion, inst.Region)
	assert.Equal(t, 4406, inst.Endpoint.Port)
	assert.Equal(t, "env", strings.Join(keys(inst.Tags), ","))
	conn, err := p.Connection(ctx, inst.ID)
	require.NoError(t, err)
	assert.Equal(t, "shop", conn.User)
	assert.Equal(t, "correct-horse-9", conn.Password.Reveal())
	assert.Equal(t, "orders", conn.Database)
	assert.Equal(t, dbaas.TLSDisable, conn.TLS)
	assert.Equal(t, dbaas.Endpoint{Host: "10.0.0.1", Port: 4406}, conn.PrivateEndpoint)

	def := available(t, p, clock, spec("plain"))
	conn, err = p.Connection(ctx, def.ID)
	require.NoError(t, err)
	assert.Equal(t, memory.DefaultUser, conn.User)
	assert.Equal(t, memory.DefaultDatabase, conn.Database)
	assert.True(t, conn.PrivateEndpoint.IsZero())
	assert.Equal(t, "127.0.0.2", conn.Endpoint.Host, "each instance has a host of its own")
	pw := conn.Password.Reveal()
	assert.Len(t, pw, 26)
	check := spec("check")
	check.AdminPassword = conn.Password
	assert.NoError(t, check.Validate(), "a generated password meets the spec's password rules")

	other := available(t, p, clock, spec("other"))
	conn2, err := p.Connection(ctx, other.ID)
	require.NoError(t, err)
	assert.NotEqual(t, pw, conn2.Password.Reveal(), "passwords are random")
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestConcurrentCreatesOfOneNameMakeOneInstance(t *testing.T) {
	ctx := context.Background()
	p := memory.New(memory.Options{})
	const n = 32
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = p.Create(ctx, spec("shop"))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			assert.ErrorIs(t, err, dbaas.ErrAlreadyExists)
		}
	}
	assert.Equal(t, 1, ok)
	list, err := p.List(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 1)
}

func TestInstanceFor(t *testing.T) {
	ctx := context.Background()
	p, clock := newManual(t, memory.Options{})
	a := available(t, p, clock, spec("one"))
	b := available(t, p, clock, spec("two"))
	for _, inst := range []*dbaas.Instance{a, b} {
		conn, err := p.Connection(ctx, inst.ID)
		require.NoError(t, err)
		id, err := p.InstanceFor(conn)
		require.NoError(t, err)
		assert.Equal(t, inst.ID, id)
	}
	_, err := p.InstanceFor(&dbaas.ConnectionInfo{Endpoint: dbaas.Endpoint{Host: "192.0.2.1", Port: 5432}})
	assert.ErrorIs(t, err, dbaas.ErrNotFound)
	_, err = p.InstanceFor(nil)
	assert.ErrorIs(t, err, dbaas.ErrInvalidArgument)
}

func TestBackupTakesBackupDelay(t *testing.T) {
	ctx := context.Background()
	p, clock := newManual(t, memory.Options{BackupDelay: 5 * time.Minute, ProvisionDelay: time.Minute})
	inst := available(t, p, clock, spec("shop"))
	require.NoError(t, p.Put(ctx, inst.ID, "a"))
	b, err := p.Backup(ctx, inst.ID, "nightly")
	require.NoError(t, err)
	assert.Equal(t, dbaas.BackupCreating, b.Status)
	assert.Equal(t, int64(1), b.SizeBytes)
	got, err := p.Get(ctx, inst.ID)
	require.NoError(t, err)
	assert.Equal(t, dbaas.StatusBackingUp, got.Status)
	require.NoError(t, p.Put(ctx, inst.ID, "b"), "a backing-up instance serves")

	_, err = p.Backup(ctx, inst.ID, "again")
	assert.ErrorIs(t, err, dbaas.ErrConflict, "one backup at a time")
	_, err = p.Restore(ctx, dbaas.FromBackup(b.ID), spec("copy"))
	assert.ErrorIs(t, err, dbaas.ErrConflict, "a creating backup cannot be restored")

	clock.Advance(5 * time.Minute)
	_, err = p.Backup(ctx, inst.ID, "nightly")
	assert.ErrorIs(t, err, dbaas.ErrAlreadyExists, "backup names are unique")
	_, err = p.Backup(ctx, inst.ID, "bad--name")
	assert.ErrorIs(t, err, dbaas.ErrInvalidArgument)
	restored, err := p.Restore(ctx, dbaas.FromBackup(b.ID), spec("copy"))
	require.NoError(t, err)
	assert.Equal(t, dbaas.StatusRestoring, restored.Status)
	clock.Advance(time.Minute)
	values, err := p.Values(ctx, restored.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"a"}, values, "the backup holds the data at the call")
}

func TestPointInTimeRestore(t *testing.T) {
	ctx := context.Background()
	p, clock := newManual(t, memory.Options{})
	s := spec("shop")
	s.BackupRetentionDays = 1
	inst := available(t, p, clock, s)
	readyAt := inst.CreatedAt // no provision delay
	require.NoError(t, p.Put(ctx, inst.ID, "first"))
	clock.Advance(time.Minute)
	cut := clock.Now()
	clock.Advance(time.Second)
	require.NoError(t, p.Put(ctx, inst.ID, "second"))

	list, err := p.Backups(ctx, inst.ID)
	require.NoError(t, err)
	require.Len(t, list, 1)
	w := list[0]
	assert.Equal(t, dbaas.BackupPointInTime, w.Kind)
	assert.Equal(t, readyAt, w.EarliestRestore, "the window starts when the instance became available")
	assert.Equal(t, clock.Now(), w.LatestRestore)

	restored, err := p.Restore(ctx, dbaas.AtTime(inst.ID, cut), spec("copy"))
	require.NoError(t, err)
	values, err := p.Values(ctx, restored.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"first"}, values)

	tests := []struct {
		name string
		at   time.Time
	}{
		{"before the window", readyAt.Add(-time.Hour)},
		{"in the future", clock.Now().Add(time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Restore(ctx, dbaas.AtTime(inst.ID, tt.at), spec("late"))
			require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
			assert.Contains(t, err.Error(), "from.time")
		})
	}

	clock.Advance(48 * time.Hour)
	list, err = p.Backups(ctx, inst.ID)
	require.NoError(t, err)
	assert.Equal(t, clock.Now().AddDate(0, 0, -1), list[0].EarliestRestore, "the window keeps BackupRetentionDays")
	_, err = p.Restore(ctx, dbaas.AtTime(inst.ID, cut), spec("old"))
	assert.ErrorIs(t, err, dbaas.ErrInvalidArgument, "past the retention period")
}

func TestRestoreRules(t *testing.T) {
	ctx := context.Background()
	p, clock := newManual(t, memory.Options{})
	s := spec("shop")
	s.AdminPassword = dbaas.NewSecret("kept-password-1")
	inst := available(t, p, clock, s)
	b, err := p.Backup(ctx, inst.ID, "")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(b.Name, "shop-"), "default backup name %q", b.Name)

	otherEngine := spec("copy")
	otherEngine.Engine = dbaas.MySQL
	otherUser := spec("copy")
	otherUser.AdminUser = "someone"
	tests := []struct {
		name  string
		ref   dbaas.RestorePoint
		spec  dbaas.Spec
		kind  error
		field string
	}{
		{"other engine", dbaas.FromBackup(b.ID), otherEngine, dbaas.ErrInvalidArgument, "engine"},
		{"other user", dbaas.FromBackup(b.ID), otherUser, dbaas.ErrInvalidArgument, "admin_user"},
		{"name taken", dbaas.FromBackup(b.ID), spec("shop"), dbaas.ErrAlreadyExists, ""},
		{"unknown backup", dbaas.FromBackup("bk-999999"), spec("copy"), dbaas.ErrNotFound, ""},
		{"no backup id", dbaas.FromBackup(""), spec("copy"), dbaas.ErrInvalidArgument, "from"},
		{"no time", dbaas.RestorePoint{InstanceID: inst.ID}, spec("copy"), dbaas.ErrInvalidArgument, "from.time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Restore(ctx, tt.ref, tt.spec)
			require.ErrorIs(t, err, tt.kind)
			assert.Contains(t, err.Error(), tt.field)
		})
	}

	restored, err := p.Restore(ctx, dbaas.FromBackup(b.ID), spec("copy"))
	require.NoError(t, err)
	clock.Advance(time.Nanosecond)
	conn, err := p.Connection(ctx, restored.ID)
	require.NoError(t, err)
	assert.Equal(t, "kept-password-1", conn.Password.Reveal(), "a restore keeps the backup's password by default")
	assert.NotEqual(t, inst.Endpoint.Host, conn.Endpoint.Host)
}

func TestDelete(t *testing.T) {
	ctx := context.Background()
	p, clock := newManual(t, memory.Options{DeleteDelay: time.Minute})
	inst := available(t, p, clock, spec("shop"))
	require.NoError(t, p.Put(ctx, inst.ID, "kept"))
	taken := available(t, p, clock, spec("taken"))
	_, err := p.Backup(ctx, taken.ID, "taken-final")
	require.NoError(t, err)

	err = p.Delete(ctx, inst.ID, dbaas.DeleteOptions{FinalBackupName: "taken-final"})
	require.ErrorIs(t, err, dbaas.ErrAlreadyExists)
	got, err := p.Get(ctx, inst.ID)
	require.NoError(t, err)
	assert.Equal(t, dbaas.StatusAvailable, got.Status, "a refused delete deletes nothing")
	assert.ErrorIs(t, p.Delete(ctx, inst.ID, dbaas.DeleteOptions{FinalBackupName: "-bad"}), dbaas.ErrInvalidArgument)

	deletedAt := clock.Now()
	require.NoError(t, p.Delete(ctx, inst.ID, dbaas.DeleteOptions{}))
	got, err = p.Get(ctx, inst.ID)
	require.NoError(t, err)
	assert.Equal(t, dbaas.StatusDeleting, got.Status)
	assert.ErrorIs(t, p.Delete(ctx, inst.ID, dbaas.DeleteOptions{}), dbaas.ErrConflict)
	_, err = p.Create(ctx, spec("shop"))
	assert.ErrorIs(t, err, dbaas.ErrAlreadyExists, "a deleting instance keeps its name")

	clock.Advance(time.Minute)
	_, err = p.Get(ctx, inst.ID)
	assert.ErrorIs(t, err, dbaas.ErrNotFound)
	list, err := p.Backups(ctx, inst.ID)
	require.NoError(t, err)
	require.Len(t, list, 1, "only the final backup outlives the instance, no point-in-time window")
	assert.Equal(t, dbaas.BackupFinal, list[0].Kind)
	assert.Equal(t, "shop-final-"+deletedAt.Format("20060102150405"), list[0].Name)
	_, err = p.Create(ctx, spec("shop"))
	assert.NoError(t, err, "the name is free once the instance is gone")

	require.NoError(t, p.Delete(ctx, taken.ID, dbaas.DeleteOptions{SkipFinalBackup: true}))
	clock.Advance(time.Minute)
	list, err = p.Backups(ctx, taken.ID)
	require.NoError(t, err)
	assert.Len(t, list, 1, "manual backups outlive the instance")
	_, err = p.Backups(ctx, "mem-424242")
	assert.ErrorIs(t, err, dbaas.ErrNotFound)
}

func TestDeletionProtection(t *testing.T) {
	ctx := context.Background()
	p, clock := newManual(t, memory.Options{})
	s := spec("shop")
	s.DeletionProtection = true
	inst := available(t, p, clock, s)
	err := p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true})
	require.ErrorIs(t, err, dbaas.ErrConflict)
	assert.Contains(t, err.Error(), "deletion protection")
	list, err := p.Backups(ctx, inst.ID)
	require.NoError(t, err)
	assert.Len(t, list, 1, "a refused delete takes no final backup")
	require.NoError(t, p.SetDeletionProtection(ctx, inst.ID, false))
	require.NoError(t, p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}))
	_, err = p.Get(ctx, inst.ID)
	assert.ErrorIs(t, err, dbaas.ErrNotFound)
}

func TestStartStop(t *testing.T) {
	ctx := context.Background()
	p, clock := newManual(t, memory.Options{ProvisionDelay: time.Minute})
	inst, err := p.Create(ctx, spec("shop"))
	require.NoError(t, err)
	assert.ErrorIs(t, p.Stop(ctx, inst.ID), dbaas.ErrConflict, "stop while provisioning")
	clock.Advance(time.Minute)
	require.NoError(t, p.Stop(ctx, inst.ID))
	require.NoError(t, p.Stop(ctx, inst.ID), "stopping a stopped instance")
	got, err := p.Get(ctx, inst.ID)
	require.NoError(t, err)
	assert.Equal(t, dbaas.StatusStopped, got.Status)
	assert.ErrorIs(t, p.Put(ctx, inst.ID, "x"), dbaas.ErrConflict, "a stopped instance serves nothing")
	_, err = p.Backup(ctx, inst.ID, "")
	assert.ErrorIs(t, err, dbaas.ErrConflict)
	require.NoError(t, p.Start(ctx, inst.ID))
	got, err = p.Get(ctx, inst.ID)
	require.NoError(t, err)
	assert.Equal(t, dbaas.StatusAvailable, got.Status)
}

func TestAccessRules(t *testing.T) {
	ctx := context.Background()
	p, clock := newManual(t, memory.Options{})
	s := spec("shop")
	s.Access = []dbaas.Source{dbaas.CIDR("10.0.0.0/8")}
	inst := available(t, p, clock, s)
	tests := []struct {
		name    string
		sources []dbaas.Source
		want    string
	}{
		{"none", nil, "sources"},
		{"not canonical", []dbaas.Source{dbaas.CIDR("10.0.0.1/8")}, "host bits"},
		{"unknown kind", []dbaas.Source{{Kind: "dns", Value: "x"}}, "unknown kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c0 := p.Calls()
			err := p.Allow(ctx, inst.ID, tt.sources...)
			require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
			assert.Contains(t, err.Error(), tt.want)
			assert.Equal(t, c0, p.Calls())
		})
	}
	many := make([]dbaas.Source, dbaas.MaxAccessSources)
	for i := range many {
		many[i] = dbaas.CIDR(fmt.Sprintf("192.168.%d.0/24", i))
	}
	err := p.Allow(ctx, inst.ID, many...)
	require.ErrorIs(t, err, dbaas.ErrInvalidArgument, "the list would exceed the limit")
	require.NoError(t, p.Allow(ctx, inst.ID, many[:dbaas.MaxAccessSources-1]...))
	require.NoError(t, p.Allow(ctx, inst.ID, many[:dbaas.MaxAccessSources-1]...), "repeating a full list is fine")
	list, err := p.Access(ctx, inst.ID)
	require.NoError(t, err)
	assert.Len(t, list, dbaas.MaxAccessSources)
	assert.Equal(t, "cidr:10.0.0.0/8", list[0].String(), "Spec.Access is the initial list, order kept")
}
