package dbaastest

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
)

// RunConformance runs the suite every provider must pass, one named
// subtest per method and rule of the contract. Subtests run one after
// another (the invalid-input checks count API calls and compare instance
// lists), each bounded by Harness.Timeout, each with unique names that
// start with Harness.NamePrefix, and each deletes what it made.
//
// What a provider cannot do, by its Capabilities, must give
// dbaas.ErrUnsupported, and the suite checks exactly that instead of the
// feature. Some rules the suite holds providers to beyond the interface's
// comments:
//
//   - Create returns at once with status provisioning (or available, for
//     a provider that is done at once).
//   - After Delete, Get reports status deleting until it gives
//     dbaas.ErrNotFound; a second Delete gives dbaas.ErrNotFound.
//   - Backup returns the backup with the name given; Backups lists it,
//     and its status becomes available in time.
//   - PointInTimeRestore requires ListBackups: Backups reports the window
//     as a backup of kind point-in-time, and a value written before a
//     Backups call is in a restore to any later whole second inside the
//     window reported afterwards.
//   - FinalBackup: after Delete with default options finishes, Backups of
//     the deleted id lists a backup of kind final with the name given in
//     DeleteOptions.FinalBackupName, and (with Restore) it restores.
//
// Time-based polls (backups becoming available, a point-in-time window
// moving on) pause on Harness.Wait.Clock, so a provider on a fake clock
// passes the suite on simulated time when the harness waits on the same
// clock.
//
// RunConformance uses only the exported API of dbaas, so programs outside
// this module can run it against their own providers.
func RunConformance(t *testing.T, h Harness) {
	t.Helper()
	s := newSuite(t, h)
	t.Cleanup(func() {
		if s.h.Cleanup != nil {
			s.mu.Lock()
			ids := append([]string(nil), s.ids...)
			s.mu.Unlock()
			s.h.Cleanup(ids)
		}
	})

	t.Run("Capabilities", s.testCapabilities)
	t.Run("As", s.testAs)
	if !s.caps.Provision {
		t.Run("CreateUnsupported", s.testCreateUnsupported)
		t.Run("ExistingInstances", s.testExistingInstances)
		return
	}
	for _, e := range s.h.Engines {
		t.Run("Lifecycle/"+string(e), func(t *testing.T) { s.testLifecycle(t, e) })
	}
	t.Run("InvalidSpec", s.testInvalidSpec)
	t.Run("WorldAccessNeedsAllowWorld", s.testWorldAccess)
	t.Run("DuplicateName", s.testDuplicateName)
	t.Run("NotFound", s.testNotFound)
	t.Run("ContextCancelled", s.testContextCancelled)
	t.Run("Access", s.testAccess)
	t.Run("UnsupportedSourceKinds", s.testUnsupportedSourceKinds)
	t.Run("Backup", s.testBackup)
	t.Run("PointInTimeRestore", s.testPointInTimeRestore)
	t.Run("DeleteFinalBackup", s.testDeleteFinalBackup)
	t.Run("StartStop", s.testStartStop)
	t.Run("AppUsers", s.testAppUsers)
	t.Run("Secrets", s.testSecrets)
	t.Run("Concurrency", s.testConcurrency)
}

func (s *suite) testCapabilities(t *testing.T) {
	c := s.caps
	if c.Provision {
		require.NotEmpty(t, c.Engines, "a provider that provisions lists its engines")
		for _, e := range s.h.Engines {
			require.True(t, c.SupportsEngine(e), "Harness.Engines holds %s, which Capabilities.Engines lacks", e)
		}
	}
	for _, e := range c.Engines {
		assert.True(t, e.Valid(), "engine %q", e)
	}
	if c.Access {
		assert.NotEmpty(t, c.SourceKinds, "a provider with access control lists its source kinds")
	} else {
		assert.Empty(t, c.SourceKinds, "a provider without access control lists no source kinds")
	}
	for _, k := range c.SourceKinds {
		assert.Contains(t, dbaas.SourceKinds(), k, "source kind %q", k)
	}
	if c.PointInTimeRestore {
		assert.True(t, c.ListBackups, "point-in-time restore needs ListBackups to report the window")
	}
	assert.GreaterOrEqual(t, c.TypicalProvisioning, time.Duration(0))
	if c.StartStop {
		_, ok := s.p.(dbaas.Starter)
		assert.True(t, ok, "Capabilities.StartStop is true but the provider does not implement dbaas.Starter")
	}
}

type notAClient struct{}

func (s *suite) testAs(t *testing.T) {
	assert.False(t, s.p.As(nil), "As(nil)")
	var target *notAClient
	assert.False(t, s.p.As(&target), "As of a type the provider does not have")
	assert.Nil(t, target)
}

func (s *suite) testCreateUnsupported(t *testing.T) {
	ctx := s.ctx(t)
	engine := dbaas.Postgres
	if len(s.caps.Engines) > 0 {
		engine = s.caps.Engines[0]
	}
	spec := s.spec("nop", engine)
	s.refused(t, ctx, dbaas.ErrUnsupported, false, func() error {
		_, err := s.p.Create(ctx, spec)
		return err
	})
}

// testExistingInstances checks the read side on what a provider that
// cannot provision already has.
func (s *suite) testExistingInstances(t *testing.T) {
	ctx := s.ctx(t)
	list, err := s.p.List(ctx)
	require.NoError(t, err)
	if len(list) == 0 {
		t.Skip("the provider cannot provision and lists no instance to check")
	}
	for _, inst := range list {
		got, err := s.p.Get(ctx, inst.ID)
		require.NoError(t, err, "get %s", inst.ID)
		assert.Equal(t, inst.ID, got.ID)
		assert.True(t, got.Status.Valid(), "status %q", got.Status)
		conn, err := s.p.Connection(ctx, inst.ID)
		require.NoError(t, err, "connection %s", inst.ID)
		assert.NoError(t, conn.Endpoint.Validate())
		assert.Equal(t, got.Engine, conn.Engine)
		err = s.p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true})
		assert.ErrorIs(t, err, dbaas.ErrUnsupported, "delete on a provider that cannot provision")
	}
}

func (s *suite) testLifecycle(t *testing.T, engine dbaas.Engine) {
	ctx := s.ctx(t)
	spec := s.spec("life", engine)
	created := s.create(t, ctx, spec)
	assert.Equal(t, spec.Name, created.Name)
	assert.Equal(t, engine, created.Engine)
	assert.Contains(t, []dbaas.Status{dbaas.StatusProvisioning, dbaas.StatusAvailable}, created.Status,
		"create returns at once with status provisioning")
	id := created.ID

	var inst *dbaas.Instance
	t.Run("Wait", func(t *testing.T) {
		inst = s.wait(t, ctx, id)
		assert.Equal(t, id, inst.ID)
	})
	if inst == nil {
		t.FailNow()
	}

	t.Run("Get", func(t *testing.T) {
		got, err := s.p.Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, id, got.ID)
		assert.Equal(t, spec.Name, got.Name)
		assert.Equal(t, engine, got.Engine)
		assert.Equal(t, dbaas.StatusAvailable, got.Status)
		assert.Equal(t, inst.Endpoint, got.Endpoint)
		assert.NoError(t, got.Endpoint.Validate(), "host without port, port in range")
	})

	t.Run("List", func(t *testing.T) {
		names := s.names(t, ctx)
		assert.Equal(t, spec.Name, names[id], "list holds the new instance")
	})

	t.Run("Connection", func(t *testing.T) {
		conn, err := s.p.Connection(ctx, id)
		require.NoError(t, err)
		require.NoError(t, conn.Endpoint.Validate(), "host without port, port in range")
		assert.Positive(t, conn.Endpoint.Port)
		assert.Equal(t, engine, conn.Engine)
		if s.h.LocalForward {
			addr, err := netip.ParseAddr(conn.Endpoint.Host)
			require.NoError(t, err, "a local forward listens on an IP address")
			assert.True(t, addr.IsLoopback(), "a local forward listens on loopback, not %s", addr)
		} else {
			assert.Equal(t, inst.Endpoint.Port, conn.Endpoint.Port, "connection port is the instance's port")
			assert.NoError(t, dbaas.CheckPort(inst, conn.Endpoint.Port))
		}
		assert.NotEmpty(t, conn.User)
		assert.Contains(t, []dbaas.TLSMode{dbaas.TLSDisable, dbaas.TLSRequire, dbaas.TLSVerifyCA, dbaas.TLSVerifyFull}, conn.TLS)
		if !conn.PrivateEndpoint.IsZero() {
			assert.NoError(t, conn.PrivateEndpoint.Validate(), "private endpoint")
		}
		if s.caps.ReadablePassword {
			assert.False(t, conn.Password.IsZero(), "Capabilities.ReadablePassword but no password")
		}
		if s.caps.CACertificate {
			block, _ := pem.Decode(conn.CACertPEM)
			require.NotNil(t, block, "Capabilities.CACertificate but no PEM CA certificate")
			assert.Equal(t, "CERTIFICATE", block.Type)
		} else {
			assert.Empty(t, conn.CACertPEM, "a CA certificate that Capabilities.CACertificate does not announce")
		}
		if engine == dbaas.Postgres {
			_, err = conn.PostgresURL(dbaas.DSNOptions{})
		} else {
			_, err = sqlconn.MySQLConfig(conn, dbaas.DSNOptions{})
		}
		assert.NoError(t, err, "DSN of the connection")
	})

	t.Run("Delete", func(t *testing.T) {
		require.NoError(t, s.p.Delete(ctx, id, dbaas.DeleteOptions{SkipFinalBackup: true}))
		require.NoError(t, s.waitGone(ctx, id))
		_, err := s.p.Get(ctx, id)
		assert.ErrorIs(t, err, dbaas.ErrNotFound)
		assert.NotContains(t, s.names(t, ctx), id, "list after delete")
		err = s.p.Delete(ctx, id, dbaas.DeleteOptions{SkipFinalBackup: true})
		assert.ErrorIs(t, err, dbaas.ErrNotFound, "second delete")
	})
}

func (s *suite) testInvalidSpec(t *testing.T) {
	ctx := s.ctx(t)
	tests := []struct {
		name   string
		mutate func(*dbaas.Spec)
		fields []string
	}{
		{"name", func(sp *dbaas.Spec) { sp.Name = "Bad_Name!" }, []string{"name"}},
		{"engine", func(sp *dbaas.Spec) { sp.Engine = "oracle" }, []string{"engine"}},
		{"size", func(sp *dbaas.Spec) { sp.Size = "" }, []string{"size"}},
		{"port", func(sp *dbaas.Spec) { sp.Port = 80 }, []string{"port"}},
		{"storage", func(sp *dbaas.Spec) { sp.StorageGB = 5 }, []string{"storage_gb"}},
		{"password", func(sp *dbaas.Spec) { sp.AdminPassword = dbaas.NewSecret("short") }, []string{"admin_password"}},
		{"access", func(sp *dbaas.Spec) { sp.Access = []dbaas.Source{dbaas.CIDR("10.0.0.1/8")} }, []string{"access[0]"}},
		{"several", func(sp *dbaas.Spec) {
			sp.Name = "-x"
			sp.Nodes = 9
			sp.Database = "1db"
			sp.BackupRetentionDays = 99
		}, []string{"name", "nodes", "database", "backup_retention_days"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := s.spec("bad", s.engine)
			tt.mutate(&spec)
			err := s.refused(t, ctx, dbaas.ErrInvalidArgument, true, func() error {
				inst, err := s.p.Create(ctx, spec)
				if inst != nil {
					s.track(t, inst.ID)
				}
				return err
			})
			for _, f := range tt.fields {
				assert.Contains(t, err.Error(), f, "the error names the field at fault")
			}
			// One shape on every provider: *dbaas.Error naming the
			// provider, the operation and the instance.
			var de *dbaas.Error
			require.ErrorAs(t, err, &de, "an invalid spec is a *dbaas.Error")
			assert.NotEmpty(t, de.Provider, "the error names the provider")
			assert.Equal(t, "create", de.Op)
			assert.Equal(t, de.Provider+": create "+de.ID+": invalid argument: ", err.Error()[:min(len(err.Error()), len(de.Provider+": create "+de.ID+": invalid argument: "))])
			if !s.caps.Restore {
				return
			}
			err = s.refused(t, ctx, dbaas.ErrInvalidArgument, true, func() error {
				inst, err := s.p.Restore(ctx, dbaas.FromBackup(s.h.MissingBackupID), spec)
				if inst != nil {
					s.track(t, inst.ID)
				}
				return err
			})
			for _, f := range tt.fields {
				assert.Contains(t, err.Error(), f, "restore: the error names the field at fault")
			}
		})
	}
}

func (s *suite) testWorldAccess(t *testing.T) {
	ctx := s.ctx(t)
	for _, world := range []string{"0.0.0.0/0", "::/0"} {
		t.Run(world, func(t *testing.T) {
			spec := s.spec("world", s.engine)
			spec.Access = []dbaas.Source{dbaas.CIDR(world)}
			err := s.refused(t, ctx, dbaas.ErrInvalidArgument, true, func() error {
				inst, err := s.p.Create(ctx, spec)
				if inst != nil {
					s.track(t, inst.ID)
				}
				return err
			})
			assert.Contains(t, err.Error(), "access[0]")
		})
	}
}

func (s *suite) testDuplicateName(t *testing.T) {
	ctx := s.ctx(t)
	first := s.shared(t)
	second, err := s.p.Create(ctx, s.fixtureSpec)
	if second != nil {
		s.track(t, second.ID)
	}
	require.ErrorIs(t, err, dbaas.ErrAlreadyExists)
	count := 0
	for _, name := range s.names(t, ctx) {
		if name == s.fixtureSpec.Name {
			count++
		}
	}
	assert.Equal(t, 1, count, "instances named %s", s.fixtureSpec.Name)
	got, err := s.p.Get(ctx, first.ID)
	require.NoError(t, err, "the first instance is untouched")
	assert.Equal(t, dbaas.StatusAvailable, got.Status, "the first instance is untouched")
}

func (s *suite) testNotFound(t *testing.T) {
	ctx := s.ctx(t)
	id := s.h.MissingID
	tests := []struct {
		name string
		skip bool
		call func() error
	}{
		{"Get", false, func() error { _, err := s.p.Get(ctx, id); return err }},
		{"Connection", false, func() error { _, err := s.p.Connection(ctx, id); return err }},
		{"Delete", false, func() error { return s.p.Delete(ctx, id, dbaas.DeleteOptions{SkipFinalBackup: true}) }},
		{"Access", !s.caps.Access, func() error { _, err := s.p.Access(ctx, id); return err }},
		{"Allow", !s.caps.Access, func() error { return s.p.Allow(ctx, id, s.sourceExample(s.caps.SourceKinds[0])) }},
		{"Backup", !s.caps.OnDemandBackup, func() error { _, err := s.p.Backup(ctx, id, s.name("nf")); return err }},
		{"Backups", !s.caps.ListBackups, func() error { _, err := s.p.Backups(ctx, id); return err }},
		{"Restore", !s.caps.Restore, func() error {
			inst, err := s.p.Restore(ctx, dbaas.FromBackup(s.h.MissingBackupID), s.spec("nf", s.engine))
			if inst != nil {
				s.track(t, inst.ID)
			}
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.skip {
				t.Skipf("%s is not supported (Capabilities)", tt.name)
			}
			assert.ErrorIs(t, tt.call(), dbaas.ErrNotFound)
		})
	}
}

func (s *suite) testContextCancelled(t *testing.T) {
	ctx := s.ctx(t)
	inst := s.shared(t)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	expired, cancel2 := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel2()

	t.Run("Create", func(t *testing.T) {
		spec := s.spec("ctx", s.engine)
		created, err := s.p.Create(cancelled, spec)
		if created != nil {
			s.track(t, created.ID)
		}
		require.ErrorIs(t, err, context.Canceled)
		for _, name := range s.names(t, ctx) {
			assert.NotEqual(t, spec.Name, name, "a cancelled create made an instance")
		}
	})
	t.Run("Get", func(t *testing.T) {
		_, err := s.p.Get(cancelled, inst.ID)
		assert.ErrorIs(t, err, context.Canceled)
		_, err = s.p.Get(expired, inst.ID)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
	t.Run("List", func(t *testing.T) {
		_, err := s.p.List(cancelled)
		assert.ErrorIs(t, err, context.Canceled)
	})
	t.Run("Delete", func(t *testing.T) {
		err := s.p.Delete(cancelled, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true})
		require.ErrorIs(t, err, context.Canceled)
		got, err := s.p.Get(ctx, inst.ID)
		require.NoError(t, err, "a cancelled delete deleted the instance")
		assert.NotEqual(t, dbaas.StatusDeleting, got.Status, "a cancelled delete started deleting")
	})
}

func (s *suite) testAccess(t *testing.T) {
	ctx := s.ctx(t)
	inst := s.shared(t)
	if !s.caps.Access {
		src := dbaas.CIDR("192.0.2.0/24")
		assert.ErrorIs(t, s.p.Allow(ctx, inst.ID, src), dbaas.ErrUnsupported, "allow")
		assert.ErrorIs(t, s.p.Revoke(ctx, inst.ID, src), dbaas.ErrUnsupported, "revoke")
		_, err := s.p.Access(ctx, inst.ID)
		assert.ErrorIs(t, err, dbaas.ErrUnsupported, "access")
		return
	}
	for _, kind := range s.caps.SourceKinds {
		t.Run(string(kind), func(t *testing.T) {
			src := s.sourceExample(kind)
			require.NoError(t, src.Validate(), "example source")
			before, err := s.p.Access(ctx, inst.ID)
			require.NoError(t, err)
			require.NotContains(t, sourceSet(before), src.String(), "the example source is already allowed")
			want := sourceSet(append(before, src))

			require.NoError(t, s.p.Allow(ctx, inst.ID, src), "allow %s", src)
			require.NoError(t, s.p.Allow(ctx, inst.ID, src), "allow %s twice", src)
			after, err := s.p.Access(ctx, inst.ID)
			require.NoError(t, err)
			assert.Equal(t, want, sourceSet(after), "access after allow")
			assert.Len(t, after, len(before)+1, "allowing twice lists the source once")

			require.NoError(t, s.p.Revoke(ctx, inst.ID, src), "revoke %s", src)
			require.NoError(t, s.p.Revoke(ctx, inst.ID, src), "revoke %s twice", src)
			after, err = s.p.Access(ctx, inst.ID)
			require.NoError(t, err)
			assert.Equal(t, sourceSet(before), sourceSet(after), "access after revoke")
		})
	}
	if s.caps.SupportsSource(dbaas.SourceCIDR) {
		t.Run("SyncAccess", func(t *testing.T) {
			before, err := s.p.Access(ctx, inst.ID)
			require.NoError(t, err)
			desired := []dbaas.Source{dbaas.CIDR("198.51.100.0/24"), dbaas.CIDR("203.0.113.7/32")}
			_, err = dbaas.SyncAccess(ctx, s.p, inst.ID, desired)
			require.NoError(t, err)
			got, err := s.p.Access(ctx, inst.ID)
			require.NoError(t, err)
			assert.Equal(t, sourceSet(desired), sourceSet(got))
			change, err := dbaas.SyncAccess(ctx, s.p, inst.ID, desired)
			require.NoError(t, err)
			assert.True(t, change.Empty(), "a second sync changes nothing")
			if len(before) == 0 {
				before = nil
			}
			_, err = dbaas.SyncAccess(ctx, s.p, inst.ID, before)
			require.NoError(t, err, "restore the access list")
		})
	}
}

func (s *suite) testUnsupportedSourceKinds(t *testing.T) {
	var lacking []dbaas.SourceKind
	for _, k := range dbaas.SourceKinds() {
		if !s.caps.SupportsSource(k) {
			lacking = append(lacking, k)
		}
	}
	if len(lacking) == 0 {
		t.Skip("the provider supports every source kind")
	}
	ctx := s.ctx(t)
	inst := s.shared(t)
	for _, k := range lacking {
		t.Run(string(k), func(t *testing.T) {
			src := s.sourceExample(k)
			var before []dbaas.Source
			if s.caps.Access {
				var err error
				before, err = s.p.Access(ctx, inst.ID)
				require.NoError(t, err)
			}
			assert.ErrorIs(t, s.p.Allow(ctx, inst.ID, src), dbaas.ErrUnsupported, "allow %s", src)
			if s.caps.Access {
				after, err := s.p.Access(ctx, inst.ID)
				require.NoError(t, err)
				assert.Equal(t, sourceSet(before), sourceSet(after), "a refused allow changed the access list")
			}
			spec := s.spec("kind", s.engine)
			spec.Access = []dbaas.Source{src}
			s.refused(t, ctx, dbaas.ErrUnsupported, false, func() error {
				created, err := s.p.Create(ctx, spec)
				if created != nil {
					s.track(t, created.ID)
				}
				return err
			})
		})
	}
}

func (s *suite) testBackup(t *testing.T) {
	ctx := s.ctx(t)
	inst := s.shared(t)
	if !s.caps.OnDemandBackup {
		_, err := s.p.Backup(ctx, inst.ID, s.name("bk"))
		assert.ErrorIs(t, err, dbaas.ErrUnsupported, "backup")
	}
	if !s.caps.ListBackups {
		_, err := s.p.Backups(ctx, inst.ID)
		assert.ErrorIs(t, err, dbaas.ErrUnsupported, "backups")
	}
	if !s.caps.Restore {
		s.refused(t, ctx, dbaas.ErrUnsupported, false, func() error {
			created, err := s.p.Restore(ctx, dbaas.FromBackup(s.h.MissingBackupID), s.spec("rst", s.engine))
			if created != nil {
				s.track(t, created.ID)
			}
			return err
		})
	}
	if !s.caps.OnDemandBackup {
		if s.caps.ListBackups && s.caps.Restore {
			s.restoreListed(t, ctx, inst)
		}
		return
	}

	before, after := "before-"+s.name("v"), "after-"+s.name("v")
	if s.h.WriteData != nil {
		s.write(t, ctx, inst.ID, before)
	}
	name := s.name("bk")
	b, err := s.p.Backup(ctx, inst.ID, name)
	require.NoError(t, err, "backup")
	require.NotNil(t, b)
	require.NotEmpty(t, b.ID)
	assert.Equal(t, inst.ID, b.InstanceID)
	assert.Equal(t, name, b.Name)
	assert.Equal(t, dbaas.BackupManual, b.Kind)

	if s.caps.ListBackups {
		listed, err := s.backupsOf(ctx, inst.ID, func(x *dbaas.Backup) bool { return x.ID == b.ID })
		require.NoError(t, err)
		assert.Equal(t, name, listed.Name)
		assert.Equal(t, dbaas.BackupManual, listed.Kind)
	}
	_, err = dbaas.Wait(ctx, s.p, inst.ID, s.h.Wait)
	require.NoError(t, err, "instance available again after the backup")
	if s.h.WriteData != nil {
		s.write(t, ctx, inst.ID, after)
	}
	if !s.caps.Restore {
		return
	}
	t.Run("Restore", func(t *testing.T) {
		s.restoreAndCheck(t, ctx, dbaas.FromBackup(b.ID), inst.ID, []string{before}, []string{after})
		if s.h.ReadData != nil {
			got := s.read(t, ctx, inst.ID)
			assert.Subset(t, got, []string{before, after}, "the source keeps its data")
		}
	})
}

// restoreListed restores a backup the provider took by itself, for
// providers that restore but have no on-demand backup.
func (s *suite) restoreListed(t *testing.T, ctx context.Context, inst *dbaas.Instance) {
	t.Helper()
	list, err := s.p.Backups(ctx, inst.ID)
	require.NoError(t, err)
	for _, b := range list {
		if b.Kind != dbaas.BackupPointInTime && b.Status == dbaas.BackupAvailable {
			t.Run("RestoreListed", func(t *testing.T) { s.restoreAndCheck(t, ctx, dbaas.FromBackup(b.ID), inst.ID, nil, nil) })
			return
		}
	}
	t.Logf("no listed backup of %s to restore yet: restore checked only by the point-in-time and final-backup tests", inst.ID)
}

// pitrWindow returns the point-in-time window Backups reports for id.
func (s *suite) pitrWindow(t testing.TB, ctx context.Context, id string) *dbaas.Backup {
	t.Helper()
	list, err := s.p.Backups(ctx, id)
	require.NoError(t, err)
	for _, b := range list {
		if b.Kind == dbaas.BackupPointInTime {
			require.False(t, b.LatestRestore.IsZero(), "point-in-time window without LatestRestore")
			require.False(t, b.LatestRestore.Before(b.EarliestRestore), "window ends before it starts")
			return b
		}
	}
	require.FailNow(t, "Capabilities.PointInTimeRestore but Backups reports no point-in-time window")
	return nil
}

func (s *suite) testPointInTimeRestore(t *testing.T) {
	ctx := s.ctx(t)
	inst := s.shared(t)
	if !s.caps.PointInTimeRestore {
		s.refused(t, ctx, dbaas.ErrUnsupported, false, func() error {
			created, err := s.p.Restore(ctx, dbaas.AtTime(inst.ID, time.Now()), s.spec("pitr", s.engine))
			if created != nil {
				s.track(t, created.ID)
			}
			return err
		})
		return
	}
	before, after := "pitr-before-"+s.name("v"), "pitr-after-"+s.name("v")
	if s.h.WriteData != nil && !s.h.NoPointInTimeData {
		s.write(t, ctx, inst.ID, before)
	}
	// References have whole seconds: wait until the window's end has
	// passed a second boundary since the write, so that the point chosen
	// is after it.
	first := s.pitrWindow(t, ctx, inst.ID).LatestRestore
	var w *dbaas.Backup
	for {
		w = s.pitrWindow(t, ctx, inst.ID)
		if w.LatestRestore.Truncate(time.Second).After(first) {
			break
		}
		require.NoError(t, s.sleep(ctx, min(s.poll, 250*time.Millisecond)), "the point-in-time window never moved on")
	}
	at := w.LatestRestore.Truncate(time.Second)
	require.False(t, at.Before(w.EarliestRestore.Truncate(time.Second)), "window %s to %s", w.EarliestRestore, w.LatestRestore)
	if s.h.WriteData != nil && !s.h.NoPointInTimeData {
		s.write(t, ctx, inst.ID, after)
	}
	t.Run("InsideWindow", func(t *testing.T) {
		if s.h.NoPointInTimeData {
			s.restoreAndCheck(t, ctx, dbaas.AtTime(inst.ID, at), inst.ID, nil, nil)
			return
		}
		s.restoreAndCheck(t, ctx, dbaas.AtTime(inst.ID, at), inst.ID, []string{before}, []string{after})
	})
	t.Run("OutsideWindow", func(t *testing.T) {
		for _, out := range []time.Time{w.EarliestRestore.Add(-48 * time.Hour), w.LatestRestore.Add(24 * time.Hour)} {
			s.refused(t, ctx, dbaas.ErrInvalidArgument, false, func() error {
				created, err := s.p.Restore(ctx, dbaas.AtTime(inst.ID, out), s.spec("pitr", s.engine))
				if created != nil {
					s.track(t, created.ID)
				}
				return err
			})
		}
	})
}

func (s *suite) testDeleteFinalBackup(t *testing.T) {
	ctx := s.ctx(t)
	inst, _ := s.createAvailable(t, ctx, "del")
	if !s.caps.FinalBackup {
		err := s.p.Delete(ctx, inst.ID, dbaas.DeleteOptions{})
		require.ErrorIs(t, err, dbaas.ErrUnsupported, "delete without SkipFinalBackup where there is no final backup")
		got, err := s.p.Get(ctx, inst.ID)
		require.NoError(t, err, "a refused delete deletes nothing")
		assert.Equal(t, dbaas.StatusAvailable, got.Status)
		return
	}
	value := "final-" + s.name("v")
	if s.h.WriteData != nil {
		s.write(t, ctx, inst.ID, value)
	}
	name := s.name("final")
	require.NoError(t, s.p.Delete(ctx, inst.ID, dbaas.DeleteOptions{FinalBackupName: name}))
	require.NoError(t, s.waitGone(ctx, inst.ID))
	if !s.caps.ListBackups {
		return
	}
	b, err := s.backupsOf(ctx, inst.ID, func(b *dbaas.Backup) bool { return b.Name == name })
	require.NoError(t, err, "the final backup is listed after the instance is gone")
	assert.Equal(t, dbaas.BackupFinal, b.Kind)
	assert.Equal(t, inst.ID, b.InstanceID)
	if s.caps.Restore {
		s.restoreAndCheck(t, ctx, dbaas.FromBackup(b.ID), inst.ID, []string{value}, nil)
	}
}

func (s *suite) testStartStop(t *testing.T) {
	starter, ok := s.p.(dbaas.Starter)
	if !s.caps.StartStop {
		if !ok {
			t.Skip("the provider cannot start and stop instances, and says so")
		}
		ctx := s.ctx(t)
		inst := s.shared(t)
		assert.ErrorIs(t, starter.Stop(ctx, inst.ID), dbaas.ErrUnsupported, "stop")
		assert.ErrorIs(t, starter.Start(ctx, inst.ID), dbaas.ErrUnsupported, "start")
		return
	}
	require.True(t, ok, "Capabilities.StartStop is true but the provider does not implement dbaas.Starter")
	ctx := s.ctx(t)
	inst, _ := s.createAvailable(t, ctx, "ss")
	stopped := s.h.Wait
	stopped.Until = dbaas.StatusStopped
	require.NoError(t, starter.Stop(ctx, inst.ID), "stop")
	got, err := dbaas.Wait(ctx, s.p, inst.ID, stopped)
	require.NoError(t, err, "wait until stopped")
	assert.Equal(t, dbaas.StatusStopped, got.Status)
	require.NoError(t, starter.Start(ctx, inst.ID), "start")
	s.wait(t, ctx, inst.ID)
	assert.ErrorIs(t, starter.Stop(ctx, s.h.MissingID), dbaas.ErrNotFound, "stop of a missing instance")
}

func (s *suite) testSecrets(t *testing.T) {
	ctx := s.ctx(t)
	inst := s.shared(t)
	spec, password := s.fixtureSpec, s.fixturePassword
	created := s.fixtureCreated

	values := map[string]any{"created": created, "waited": inst}
	got, err := s.p.Get(ctx, inst.ID)
	require.NoError(t, err)
	values["get"] = got
	list, err := s.p.List(ctx)
	require.NoError(t, err)
	values["list"] = list
	conn, err := s.p.Connection(ctx, inst.ID)
	require.NoError(t, err)
	values["connection"] = conn
	values["connection value"] = *conn
	if s.caps.ListBackups {
		backups, err := s.p.Backups(ctx, inst.ID)
		require.NoError(t, err)
		values["backups"] = backups
	}
	if s.caps.OnDemandBackup {
		b, err := s.p.Backup(ctx, inst.ID, s.name("sec"))
		require.NoError(t, err)
		values["backup"] = b
		_, err = dbaas.Wait(ctx, s.p, inst.ID, s.h.Wait)
		require.NoError(t, err, "instance available again after the backup")
	}
	_, err = s.p.Create(ctx, spec)
	require.Error(t, err)
	values["duplicate error"] = err
	bad := spec
	bad.AdminPassword = dbaas.NewSecret(password + " x@/")
	_, err = s.p.Create(ctx, bad)
	require.Error(t, err)
	values["invalid password error"] = err
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.p.Create(cancelled, s.spec("sec", s.engine))
	require.Error(t, err)
	values["cancelled error"] = err

	secrets := []string{}
	if password != "" {
		secrets = append(secrets, password)
	}
	if pw := conn.Password.Reveal(); len(pw) >= 6 {
		secrets = append(secrets, pw)
	}
	if len(secrets) == 0 {
		t.Skip("no secret to look for: the provider neither takes nor returns a password")
	}
	for what, v := range values {
		texts := map[string]string{
			"%v":  fmt.Sprintf("%v", v),
			"%+v": fmt.Sprintf("%+v", v),
			"%#v": fmt.Sprintf("%#v", v),
			"%s":  fmt.Sprintf("%s", v),
		}
		if js, err := json.Marshal(v); err == nil {
			texts["json"] = string(js)
		}
		var logged strings.Builder
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("value", "v", v)
		texts["slog"] = logged.String()
		for form, text := range texts {
			for _, secret := range secrets {
				assert.False(t, strings.Contains(text, secret), "%s printed with %s shows a password", what, form)
			}
		}
	}
}

func (s *suite) testConcurrency(t *testing.T) {
	ctx := s.ctx(t)
	n := s.h.Concurrency
	names := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		names[i] = s.name("cc")
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.oneLife(t, ctx, names[i])
		}()
	}
	wg.Wait()
	for i, err := range errs {
		assert.NoError(t, err, "worker %d (%s)", i, names[i])
	}
	left := s.names(t, ctx)
	for _, name := range names {
		for id, n := range left {
			assert.NotEqual(t, name, n, "instance %s outlived its worker", id)
		}
	}
}

// oneLife creates, waits for, reads and deletes one instance. It runs in
// a goroutine of its own, so it returns errors instead of failing t.
func (s *suite) oneLife(t testing.TB, ctx context.Context, name string) error {
	spec := s.h.Spec(name, s.engine)
	inst, err := s.p.Create(ctx, spec)
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	s.track(t, inst.ID)
	ready, err := dbaas.Wait(ctx, s.p, inst.ID, s.h.Wait)
	if err != nil {
		return err
	}
	got, err := s.p.Get(ctx, inst.ID)
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	if got.Name != name || got.ID != ready.ID || got.Status != dbaas.StatusAvailable {
		return fmt.Errorf("get %s: got %s %s %s, want %s %s available", inst.ID, got.ID, got.Name, got.Status, inst.ID, name)
	}
	conn, err := s.p.Connection(ctx, inst.ID)
	if err != nil {
		return fmt.Errorf("connection: %w", err)
	}
	if err := conn.Endpoint.Validate(); err != nil {
		return fmt.Errorf("connection %s: %w", inst.ID, err)
	}
	if err := s.p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	return s.waitGone(ctx, inst.ID)
}
