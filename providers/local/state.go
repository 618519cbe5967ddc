package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Lifecycle words kept on disk: what the provider last made of an
// instance. The status callers see also depends on whether its server
// process is alive.
const (
	stateProvisioning = "provisioning"
	stateRunning      = "running"
	stateStopped      = "stopped"
	stateFailed       = "failed"
	stateRestoring    = "restoring"
)

// record is an instance as kept on disk (instances/<id>.json, mode 0600:
// it holds the admin password).
type record struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Engine       dbaas.Engine      `json:"engine"`
	Version      string            `json:"version"`
	Size         string            `json:"size"`
	Port         int               `json:"port"`
	AdminUser    string            `json:"admin_user"`
	Password     string            `json:"password"`
	Database     string            `json:"database"`
	Access       []string          `json:"access,omitempty"`
	PublicAccess bool              `json:"public_access,omitempty"`
	Protected    bool              `json:"deletion_protection,omitempty"`
	Tags         map[string]string `json:"tags,omitempty"`
	CreatedAt    time.Time         `json:"created_at"`
	State        string            `json:"state"`
	Message      string            `json:"message,omitempty"`
	RestoredFrom string            `json:"restored_from,omitempty"`
	// CACert is the instance's CA certificate (PEM); empty for instances
	// made before the servers spoke TLS, which keep plain TCP.
	CACert string `json:"ca_cert,omitempty"`
	// SuperPassword is the password of the provider's own superuser
	// (postgres, root), who logs in through the server's Unix socket only;
	// the admin user handed out is no superuser. Empty for instances made
	// before that, whose admin user is the superuser.
	SuperPassword string `json:"super_password,omitempty"`
	// OSUser is the instance's own system user its server runs as (as
	// root); empty when it runs as the provider's shared account.
	OSUser string `json:"os_user,omitempty"`

	// certs is the TLS material made with the record, until build writes
	// it to the server directory; it is never kept in state.
	certs *serverCerts
}

// tls reports whether the instance's server speaks TLS.
func (r *record) tls() bool { return r.CACert != "" }

// confined reports whether the provider keeps a superuser of its own and
// hands out an admin user without superuser rights.
func (r *record) confined() bool { return r.SuperPassword != "" }

// backupRecord is a backup as kept on disk (backups/<id>.json, mode 0600).
type backupRecord struct {
	ID           string           `json:"id"`
	InstanceID   string           `json:"instance_id"`
	InstanceName string           `json:"instance_name"`
	Name         string           `json:"name"`
	Kind         dbaas.BackupKind `json:"kind"`
	Engine       dbaas.Engine     `json:"engine"`
	Version      string           `json:"version"`
	AdminUser    string           `json:"admin_user"`
	Password     string           `json:"password"`
	Database     string           `json:"database"`
	CreatedAt    time.Time        `json:"created_at"`
	SizeBytes    int64            `json:"size_bytes"`
	Method       string           `json:"method"`
	// SuperPassword is the instance's SuperPassword when the backup was
	// taken: a physical backup carries that superuser.
	SuperPassword string `json:"super_password,omitempty"`
}

// store is the state directory.
type store struct{ dir string }

func (s store) instancesDir() string         { return filepath.Join(s.dir, "instances") }
func (s store) backupsDir() string           { return filepath.Join(s.dir, "backups") }
func (s store) serversDir() string           { return filepath.Join(s.dir, "servers") }
func (s store) recordPath(id string) string  { return filepath.Join(s.instancesDir(), id+".json") }
func (s store) backupPath(id string) string  { return filepath.Join(s.backupsDir(), id+".json") }
func (s store) backupFiles(id string) string { return filepath.Join(s.backupsDir(), id) }
func (s store) serverDir(id string) string   { return filepath.Join(s.serversDir(), id) }

// init creates the layout: the state directory and servers/ and backups/
// may be entered (not listed) by the servers' account; instances/ holds
// passwords and is the process owner's alone.
func (s store) init() error {
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{s.dir, 0o711}, {s.serversDir(), 0o711}, {s.backupsDir(), 0o711}, {s.instancesDir(), 0o700}} {
		if err := os.MkdirAll(d.path, d.mode); err != nil {
			return err
		}
		if err := os.Chmod(d.path, d.mode); err != nil {
			return err
		}
	}
	f, err := os.CreateTemp(s.dir, ".probe-*")
	if err != nil {
		return err
	}
	name := f.Name()
	_ = f.Close()
	return os.Remove(name)
}

// lock takes an exclusive lock on the state directory across processes;
// it guards name and port choices.
func (s store) lock() (func(), error) {
	f, err := flock(filepath.Join(s.dir, "lock"))
	if err != nil {
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}

// buildLock is held (flock) by the process provisioning an instance, so
// that another process can tell a create in progress from one whose
// process died.
func (s store) buildLock(id string) (func(), error) {
	f, err := flock(filepath.Join(s.instancesDir(), id+".lock"))
	if err != nil {
		return nil, err
	}
	return func() {
		_ = os.Remove(f.Name())
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}

// flock opens (creating, mode 0600) and exclusively locks path.
func flock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// building reports whether another process holds id's build lock.
func (s store) building(id string) bool {
	f, err := os.Open(filepath.Join(s.instancesDir(), id+".lock"))
	if err != nil {
		return false
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return false
	}
	return errors.Is(err, syscall.EWOULDBLOCK)
}

// CorruptStateError says that a state file cannot be used; it names the
// file, the field at fault and what to do.
type CorruptStateError struct {
	Path string
	// Field is the field at fault ("port", "engine", …, or "mode" for a
	// file others may read); empty when the file does not parse.
	Field string
	Err   error
}

func (e *CorruptStateError) Error() string {
	if e.Field == "mode" {
		return fmt.Sprintf("state file %s is refused (mode: %v): it holds a password: chmod 600 %s, and change the password if others read it", e.Path, e.Err, e.Path)
	}
	cause := e.Err.Error()
	if e.Field != "" {
		cause = e.Field + ": " + cause
	}
	return fmt.Sprintf("state file %s is corrupt (%s): restore it from a copy, or remove it to forget that entry (its server files, if any, stay under servers/)", e.Path, cause)
}

// Unwrap makes errors.Is(err, dbaas.ErrConflict) true.
func (e *CorruptStateError) Unwrap() error { return dbaas.ErrConflict }

// readJSON reads a state file, refusing one that others may read: every
// state file holds a password.
func readJSON(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		return &CorruptStateError{Path: path, Field: "mode", Err: fmt.Errorf("%04o lets users other than its owner read it", m)}
	}
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &CorruptStateError{Path: path, Err: err}
	}
	return nil
}

// checkEngine refuses an engine local servers do not run.
func checkEngine(path string, e dbaas.Engine) error {
	if e != dbaas.Postgres && e != dbaas.MariaDB {
		return &CorruptStateError{Path: path, Field: "engine", Err: fmt.Errorf("%q is not postgres or mariadb", truncate(string(e), 32))}
	}
	return nil
}

func (s store) readRecord(id string) (*record, error) {
	var r record
	path := s.recordPath(id)
	if err := readJSON(path, &r); err != nil {
		return nil, err
	}
	if r.ID != id {
		return nil, &CorruptStateError{Path: path, Field: "id", Err: fmt.Errorf("%q is not the file's name", truncate(r.ID, 64))}
	}
	if err := checkEngine(path, r.Engine); err != nil {
		return nil, err
	}
	if r.Port < 1 || r.Port > 65535 {
		return nil, &CorruptStateError{Path: path, Field: "port", Err: fmt.Errorf("%d is not a TCP port (1-65535)", r.Port)}
	}
	// The provider runs the server as this user and removes it with the
	// instance: it may only be the instance's own.
	if r.OSUser != "" && r.OSUser != instanceUser(r.ID) {
		return nil, &CorruptStateError{Path: path, Field: "os_user", Err: fmt.Errorf("%q is not %s, the instance's own system user", truncate(r.OSUser, 64), instanceUser(r.ID))}
	}
	return &r, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func (s store) writeRecord(r *record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(s.recordPath(r.ID), b, 0o600)
}

func (s store) removeRecord(id string) error {
	err := os.Remove(s.recordPath(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// listIDs returns the ids of instances (or backups) on disk, sorted.
func listIDs(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range ents {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasSuffix(n, ".json") && !strings.HasPrefix(n, ".") {
			ids = append(ids, strings.TrimSuffix(n, ".json"))
		}
	}
	sort.Strings(ids)
	return ids, nil
}

func (s store) readBackup(id string) (*backupRecord, error) {
	var b backupRecord
	path := s.backupPath(id)
	if err := readJSON(path, &b); err != nil {
		return nil, err
	}
	if b.ID != id {
		return nil, &CorruptStateError{Path: path, Field: "id", Err: fmt.Errorf("%q is not the file's name", truncate(b.ID, 64))}
	}
	if err := checkEngine(path, b.Engine); err != nil {
		return nil, err
	}
	return &b, nil
}

func (s store) writeBackup(b *backupRecord) error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(s.backupPath(b.ID), data, 0o600)
}

// writeAtomic writes data to path through a synced temporary file and a
// rename, so a crash leaves the old or the new content, never a torn file.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	return writeFile(path, data, mode, true)
}

// writeFile writes through a temporary file and a rename: a reader never
// sees half a file. With durable, the data and the rename are synced too.
func writeFile(path string, data []byte, mode os.FileMode, durable bool) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Chmod(mode)
	}
	if werr == nil && durable {
		werr = f.Sync()
	}
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return werr
	}
	if !durable {
		return nil
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
