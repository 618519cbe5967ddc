package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Backup takes a physical backup of a running instance: pg_basebackup for
// PostgreSQL, mariadb-backup (then --prepare) for MariaDB. It returns
// when the backup can be restored.
func (p *servers) Backup(ctx context.Context, id, name string) (*dbaas.Backup, error) {
	if len(name) > 255 || strings.ContainsAny(name, "\x00\n\r") {
		return nil, dbaas.InvalidField("name", "must be at most 255 characters on one line")
	}
	r, unlock, err := p.locked(ctx, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return p.backupLocked(ctx, r, name, dbaas.BackupManual)
}

// backupLocked takes a backup; the caller holds the instance lock. A
// failed backup leaves no files.
func (p *servers) backupLocked(ctx context.Context, r *record, name string, kind dbaas.BackupKind) (*dbaas.Backup, error) {
	if r.State != stateRunning || p.dataMissing(r) || p.serverPID(r) == 0 {
		st, raw := p.status(r)
		return nil, fail(dbaas.ErrConflict, fmt.Errorf("instance is %s (%s), not running: Start it first", st, raw))
	}
	in, err := p.installation(r.Engine, r.Version)
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = r.Name + "-" + time.Now().UTC().Format("20060102150405")
	}
	p.setOp(r.ID, "backing-up")
	defer p.setOp(r.ID, "")
	br := &backupRecord{ID: newID("backup-"), InstanceID: r.ID, InstanceName: r.Name, Name: name, Kind: kind,
		Engine: r.Engine, Version: r.Version, AdminUser: r.AdminUser, Password: r.Password, Database: r.Database,
		CreatedAt: time.Now().UTC(), SuperPassword: r.SuperPassword}
	dir := p.store.backupFiles(br.ID)
	a := p.account(r)
	if err := a.mkdirOwned(dir); err != nil {
		return nil, err
	}
	method, err := p.engine(r).backup(ctx, r, in, dir)
	if err == nil {
		br.Method = method
		br.SizeBytes, err = ownerOnly(dir)
	}
	if err == nil && a.drop {
		// The backup outlives the instance and its system user: it
		// becomes this process's, which restores copy it as.
		err = account{uid: os.Geteuid(), gid: os.Getegid(), drop: true}.chownTree(dir)
	}
	if err == nil {
		err = p.store.writeBackup(br)
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, errors.New(scrub(err.Error(), r.Password, r.SuperPassword))
	}
	return toBackup(br), nil
}

func toBackup(b *backupRecord) *dbaas.Backup {
	return &dbaas.Backup{ID: b.ID, InstanceID: b.InstanceID, Name: b.Name, Kind: b.Kind, Status: dbaas.BackupAvailable,
		CreatedAt: b.CreatedAt, SizeBytes: b.SizeBytes, Engine: b.Engine}
}

// ownerOnly takes every permission for group and others off the files
// under dir (the tools write theirs by their umask: a dump would be
// world-readable) and returns their total size.
func ownerOnly(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if m := fi.Mode(); m&fs.ModeSymlink == 0 && m.Perm()&0o077 != 0 {
			if err := os.Chmod(path, m.Perm()&0o700); err != nil {
				return err
			}
		}
		if d.Type().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n, err
}

// Backups lists an instance's backups, oldest first. They outlive the
// instance: a deleted instance's backups (its final one too) are still
// listed and restorable.
func (p *servers) Backups(ctx context.Context, id string) ([]*dbaas.Backup, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ids, err := listIDs(p.store.backupsDir())
	if err != nil {
		return nil, err
	}
	var out []*dbaas.Backup
	for _, bid := range ids {
		b, err := p.store.readBackup(bid)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if b.InstanceID == id {
			out = append(out, toBackup(b))
		}
	}
	if len(out) == 0 {
		if _, err := p.get(id); err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(out, func(a, b *dbaas.Backup) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// deleteBackup removes a backup's files and record.
func (p *servers) deleteBackup(_ context.Context, backupID string) error {
	if _, err := p.readBackup(backupID); err != nil {
		return err
	}
	if err := os.RemoveAll(p.store.backupFiles(backupID)); err != nil {
		return err
	}
	return os.Remove(p.store.backupPath(backupID))
}

func (p *servers) readBackup(id string) (*backupRecord, error) {
	if !wellFormed(id) {
		return nil, fail(dbaas.ErrNotFound, errors.New("no such backup"))
	}
	b, err := p.store.readBackup(id)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fail(dbaas.ErrNotFound, errors.New("no such backup"))
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Restore makes a new instance from a backup: the backup's files copied
// into a new data directory (cp, or mariadb-backup --copy-back), started
// on its own port. It keeps the backup's admin user and database; a
// password in spec replaces the backup's. The portable layer refuses
// point-in-time restore points (Capabilities.PointInTimeRestore is false).
func (p *servers) Restore(ctx context.Context, from dbaas.RestorePoint, spec dbaas.Spec) (*dbaas.Instance, error) {
	if err := p.checkSpec(spec); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, err := p.readBackup(from.BackupID)
	if err != nil {
		return nil, err
	}
	var problems []dbaas.FieldError
	if spec.Engine != b.Engine {
		problems = append(problems, dbaas.FieldError{Field: "engine", Rule: fmt.Sprintf("must be %s, the backup's engine", b.Engine)})
	}
	if spec.Version != "" && spec.Version != b.Version {
		problems = append(problems, dbaas.FieldError{Field: "version", Rule: fmt.Sprintf("must be empty or %s, the backup's version", b.Version)})
	}
	if spec.AdminUser != "" && spec.AdminUser != b.AdminUser {
		problems = append(problems, dbaas.FieldError{Field: "admin_user", Rule: fmt.Sprintf("must be empty or %s: a restore keeps the backup's admin user", b.AdminUser)})
	}
	if spec.Database != "" && spec.Database != b.Database {
		problems = append(problems, dbaas.FieldError{Field: "database", Rule: fmt.Sprintf("must be empty or %s: a restore keeps the backup's database", b.Database)})
	}
	if len(problems) > 0 {
		return nil, &dbaas.ValidationError{Problems: problems}
	}
	in, err := p.installation(b.Engine, b.Version)
	if err != nil {
		return nil, err
	}
	spec.AdminUser, spec.Database = b.AdminUser, b.Database
	// A physical backup carries its superuser (none, for one taken before
	// the provider kept one); a logical one is loaded into a new server.
	super := b.SuperPassword
	if b.Method == methodMariaDump && super == "" {
		super = generatePassword()
	}
	r, err := p.admit(spec, stateRestoring, in, b.Password, super)
	if err != nil {
		return nil, err
	}
	r.RestoredFrom = b.ID
	return p.provision(r, in, b, spec.AdminPassword.Reveal()), nil
}
