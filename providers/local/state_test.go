package local

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// FuzzStateFile feeds arbitrary bytes to the state reader: it returns a
// record that names its file's id and has an engine and a port, or a
// *CorruptStateError naming the file, and never panics.
func FuzzStateFile(f *testing.F) {
	f.Add([]byte(`{"id":"local-abc","name":"x","engine":"postgres","port":5432,"state":"running"}`))
	f.Add([]byte(`{"id":"local-abc","engine":"postgres"}`))
	f.Add([]byte(`{"id":"other","engine":"mariadb","port":1}`))
	f.Add([]byte(`{"id": "local-ab`))
	f.Add([]byte(`{"id":"local-abc","engine":"postgres","port":5432,"extra":1}`))
	f.Add([]byte(``))
	dir := f.TempDir()
	st := store{dir: dir}
	require.NoError(f, os.MkdirAll(st.instancesDir(), 0o700))
	f.Fuzz(func(t *testing.T, data []byte) {
		const id = "local-abc"
		require.NoError(t, os.WriteFile(st.recordPath(id), data, 0o600))
		r, err := st.readRecord(id)
		if err != nil {
			var ce *CorruptStateError
			require.True(t, errors.As(err, &ce), "error %v is not a CorruptStateError", err)
			assert.Equal(t, filepath.Join(dir, "instances", id+".json"), ce.Path)
			assert.Contains(t, err.Error(), ce.Path)
			return
		}
		assert.Equal(t, id, r.ID)
		assert.Contains(t, []dbaas.Engine{dbaas.Postgres, dbaas.MariaDB}, r.Engine)
		assert.True(t, r.Port >= 1 && r.Port <= 65535, "port %d", r.Port)
	})
}

// FuzzHostPattern checks that every IPv4 network becomes an address and
// netmask MariaDB accepts, and that nothing panics.
func FuzzHostPattern(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "10.1.2.3/32", "2001:db8::/32", "::1/128", "0.0.0.0/0", "garbage"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cidr string) {
		got, err := hostPattern(cidr)
		if err != nil {
			return
		}
		assert.NotEmpty(t, got)
		assert.NotContains(t, got, "'")
	})
}

// goodRecord is a record that reads back: an instance whose server was
// never made, so nothing runs behind it.
func goodRecord(id, name string) *record {
	return &record{ID: id, Name: name, Engine: dbaas.Postgres, Version: "15", Size: "small", Port: 15432,
		AdminUser: "admin", Password: "pw-not-shown", Database: "app", CreatedAt: time.Now().UTC(), State: stateStopped}
}

// A state file with an impossible value, or one others may read (it holds
// a password), is refused by every call that reads it, with an error
// naming the file and the field.
func TestWrongStateFilesAreRefused(t *testing.T) {
	p := newProvider(t)
	ctx := context.Background()
	const id = "local-0123456789ab"
	path := p.s.store.recordPath(id)
	tests := []struct {
		name   string
		change func(r *record)
		mode   os.FileMode
		field  string
	}{
		{name: "port zero", change: func(r *record) { r.Port = 0 }, mode: 0o600, field: "port"},
		{name: "port beyond 65535", change: func(r *record) { r.Port = 70000 }, mode: 0o600, field: "port"},
		{name: "negative port", change: func(r *record) { r.Port = -5 }, mode: 0o600, field: "port"},
		{name: "unknown engine", change: func(r *record) { r.Engine = "oracle" }, mode: 0o600, field: "engine"},
		{name: "engine local servers do not run", change: func(r *record) { r.Engine = dbaas.MySQL }, mode: 0o600, field: "engine"},
		{name: "no engine", change: func(r *record) { r.Engine = "" }, mode: 0o600, field: "engine"},
		{name: "another system user", change: func(r *record) { r.OSUser = "www-data" }, mode: 0o600, field: "os_user"},
		{name: "readable by all", change: func(*record) {}, mode: 0o644, field: "mode"},
		{name: "readable by the group", change: func(*record) {}, mode: 0o640, field: "mode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := goodRecord(id, "wrong")
			tc.change(r)
			require.NoError(t, p.s.store.writeRecord(r))
			require.NoError(t, os.Chmod(path, tc.mode))
			t.Cleanup(func() { _ = os.Remove(path) })
			for op, call := range map[string]func() error{
				"get":        func() error { _, err := p.Get(ctx, id); return err },
				"list":       func() error { _, err := p.List(ctx); return err },
				"connection": func() error { _, err := p.Connection(ctx, id); return err },
				"start":      func() error { return p.Start(ctx, id) },
			} {
				err := call()
				var ce *CorruptStateError
				require.ErrorAs(t, err, &ce, op)
				assert.Equal(t, path, ce.Path, op)
				assert.Equal(t, tc.field, ce.Field, op)
				assert.Contains(t, err.Error(), path, op)
				assert.Contains(t, err.Error(), tc.field+": ", op)
				assert.NotContains(t, err.Error(), "pw-not-shown", op)
			}
		})
	}

	t.Run("backup readable by others", func(t *testing.T) {
		const bid = "backup-0123456789ab"
		bpath := p.s.store.backupPath(bid)
		require.NoError(t, p.s.store.writeBackup(&backupRecord{ID: bid, InstanceID: id, Name: "b", Engine: dbaas.Postgres,
			Version: "15", AdminUser: "admin", Password: "pw-not-shown", Database: "app", CreatedAt: time.Now().UTC()}))
		require.NoError(t, os.Chmod(bpath, 0o604))
		t.Cleanup(func() { _ = os.Remove(bpath) })
		_, err := p.Backups(ctx, id)
		var ce *CorruptStateError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, "mode", ce.Field)
		assert.Contains(t, err.Error(), "chmod 600 "+bpath)
		_, err = p.Restore(ctx, dbaas.FromBackup(bid), dbaas.Spec{Name: "from-open-backup", Engine: dbaas.Postgres, Size: "small"})
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, bpath, ce.Path)
	})
}

// An id this provider could never have made names nothing: every call
// answers ErrNotFound, as for an id that is well formed but unknown,
// without touching the state directory.
func TestIDsThatNameNothingAreNotFound(t *testing.T) {
	p := newProvider(t)
	ctx := context.Background()
	ids := map[string]string{
		"unknown":          "local-ffffffffffff",
		"overlong":         strings.Repeat("a", dbaas.MaxIDLen+1),
		"over a file name": strings.Repeat("a", 300),
		"path":             "../instances/x",
		"slash":            "a/b",
		"backslash":        `a\b`,
		"hidden":           ".lock",
		"nul":              "local-\x00",
		"space":            "local x",
		"newline":          "local\nx",
	}
	for name, id := range ids {
		t.Run(name, func(t *testing.T) {
			for op, call := range map[string]func() error{
				"get":           func() error { _, err := p.Get(ctx, id); return err },
				"connection":    func() error { _, err := p.Connection(ctx, id); return err },
				"access":        func() error { _, err := p.Access(ctx, id); return err },
				"allow":         func() error { return p.Allow(ctx, id, dbaas.CIDR("10.0.0.0/8")) },
				"revoke":        func() error { return p.Revoke(ctx, id, dbaas.CIDR("10.0.0.0/8")) },
				"backup":        func() error { _, err := p.Backup(ctx, id, ""); return err },
				"backups":       func() error { _, err := p.Backups(ctx, id); return err },
				"start":         func() error { return p.Start(ctx, id) },
				"stop":          func() error { return p.Stop(ctx, id) },
				"delete":        func() error { return p.Delete(ctx, id, dbaas.DeleteOptions{SkipFinalBackup: true}) },
				"delete backup": func() error { return p.DeleteBackup(ctx, id) },
				"restore": func() error {
					_, err := p.Restore(ctx, dbaas.FromBackup(id), dbaas.Spec{Name: "from-nothing", Engine: dbaas.Postgres, Size: "small"})
					return err
				},
			} {
				if op == "restore" && !p.Capabilities().SupportsEngine(dbaas.Postgres) {
					continue // refused for the engine before the id is looked at
				}
				err := call()
				require.ErrorIs(t, err, dbaas.ErrNotFound, "%s: %v", op, err)
				var de *dbaas.Error
				require.ErrorAs(t, err, &de, op)
				assert.Equal(t, "local", de.Provider, op)
			}
		})
	}
	ents, err := os.ReadDir(p.s.store.instancesDir())
	require.NoError(t, err)
	assert.Empty(t, ents, "no lock or state file was made for an id that names nothing")
}

// Ensure does not hand back an instance that failed: it says so, naming
// the instance and its status, so that a deploy stops there instead of
// waiting on it.
func TestEnsureRefusesAFailedInstance(t *testing.T) {
	p := newProvider(t)
	ctx := context.Background()
	r := goodRecord("local-0a0a0a0a0a0a", "broken")
	r.State, r.Message = stateFailed, "initdb failed"
	require.NoError(t, p.s.store.writeRecord(r))

	inst, created, err := dbaas.Ensure(ctx, p, dbaas.Spec{Name: "broken", Engine: dbaas.Postgres, Size: "small"})
	require.ErrorIs(t, err, dbaas.ErrConflict)
	assert.False(t, created)
	assert.Contains(t, err.Error(), r.ID)
	assert.Contains(t, err.Error(), "is failed (failed: initdb failed)")
	assert.Contains(t, err.Error(), "delete it")
	require.NotNil(t, inst)
	assert.Equal(t, dbaas.StatusFailed, inst.Status)
	list, err := p.List(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 1, "nothing was created")
}

// Every file of the state directory that holds a password or data (state
// files, backups) is readable by its owner only, for both engines.
func TestStateFilesAreReadableByTheirOwnerOnly(t *testing.T) {
	for _, e := range []dbaas.Engine{dbaas.Postgres, dbaas.MariaDB} {
		t.Run(string(e), func(t *testing.T) {
			t.Parallel()
			p := newProvider(t, e)
			ctx := context.Background()
			inst := createWait(t, p, spec("owned-"+string(e), e))
			_, err := p.Backup(ctx, inst.ID, "owned")
			require.NoError(t, err)
			require.NoError(t, p.Stop(ctx, inst.ID))
			var checked int
			for _, dir := range []string{p.s.store.instancesDir(), p.s.store.backupsDir()} {
				require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
					if err != nil {
						return err
					}
					fi, err := d.Info()
					if err != nil {
						return err
					}
					if d.Type().IsRegular() || (d.IsDir() && path != p.s.store.backupsDir()) {
						checked++
						assert.Zero(t, fi.Mode().Perm()&0o077, "%s is mode %04o", path, fi.Mode().Perm())
					}
					return nil
				}))
			}
			assert.Greater(t, checked, 3, "the state file, the backup's record and its files")
		})
	}
}
