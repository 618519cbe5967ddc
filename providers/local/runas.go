package local

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// DefaultRunAs is the system user that servers made before each instance
// had its own account run as (and that initdb and the other tools of
// those instances run as) when the process is root. A dedicated user
// keeps their files apart from the distribution's own postgres and mysql
// services.
const DefaultRunAs = "dbaaskit"

// instanceUserPrefix starts the name of each instance's own system user
// ("dbaaskit-" and the twelve hex digits of its id): the hyphen keeps it
// apart from every database user name, which may not hold one.
const instanceUserPrefix = "dbaaskit-"

// account is the OS user the servers run as.
type account struct {
	name     string
	uid, gid int
	// drop is true when the process must switch to uid/gid to run the
	// servers (it is root).
	drop bool
	// err says why the account cannot be used (an instance's user was
	// removed behind the provider's back); everything run as it fails.
	err error
}

// processAccount is the process's own identity: tools run as it copy
// backups that outlived their instance's account.
var processAccount = account{name: "this process"}

// useraddMu serialises user creation inside this process; useradd itself
// locks /etc/passwd against other processes.
var useraddMu sync.Mutex

// resolveAccount returns who runs the servers. As root it is name
// (DefaultRunAs when empty), created as a system user when missing; as
// anyone else it is the current user, and name must be empty or that user.
func resolveAccount(ctx context.Context, name string) (account, error) {
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return account{}, fmt.Errorf("current user: %w", err)
		}
		if name != "" && name != u.Username {
			return account{}, fmt.Errorf("run_as %q: only root can run servers as another user; this process runs as %s: leave run_as empty", name, u.Username)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return account{name: u.Username, uid: uid, gid: gid}, nil
	}
	if name == "" {
		name = DefaultRunAs
	}
	if name == "root" {
		return account{}, fmt.Errorf("run_as %q: PostgreSQL and MariaDB must not run as root: name an unprivileged user or leave run_as empty for %s", name, DefaultRunAs)
	}
	useraddMu.Lock()
	defer useraddMu.Unlock()
	u, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if !asUnknownUser(err, &unknown) {
			return account{}, fmt.Errorf("look up user %s: %w", name, err)
		}
		out, cerr := exec.CommandContext(ctx, "useradd", "--system", "--user-group", "--no-create-home",
			"--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "--comment", "dbaaskit local database servers", name).CombinedOutput()
		if u, err = user.Lookup(name); err != nil {
			return account{}, fmt.Errorf("create system user %s with useradd (%v: %s): create it by hand (useradd --system %s) or set run_as to an existing unprivileged user", name, cerr, out, name)
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if uid == 0 {
		return account{}, fmt.Errorf("run_as %q has uid 0: name an unprivileged user", name)
	}
	return account{name: name, uid: uid, gid: gid, drop: true}, nil
}

// instanceUser is the name of the system user of instance id.
func instanceUser(id string) string {
	return instanceUserPrefix + strings.TrimPrefix(id, "local-")
}

// createInstanceUser creates an instance's own system user (and group).
// A user of that name that exists already is refused, never adopted: it
// is someone else's.
func createInstanceUser(ctx context.Context, name string) (account, error) {
	useraddMu.Lock()
	defer useraddMu.Unlock()
	if _, err := user.Lookup(name); err == nil {
		return account{}, fmt.Errorf("create system user %s: a user of that name exists already and is not this instance's", name)
	}
	out, err := exec.CommandContext(ctx, "useradd", "--system", "--user-group", "--no-create-home",
		"--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "--comment", "dbaaskit local database server", name).CombinedOutput()
	if err != nil {
		return account{}, fmt.Errorf("create system user %s with useradd (%v): %s", name, err, strings.TrimSpace(string(out)))
	}
	return lookupAccount(name)
}

// lookupAccount returns an existing unprivileged user the servers run as
// (the process being root).
func lookupAccount(name string) (account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return account{}, fmt.Errorf("system user %s of the instance: %w", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if uid == 0 {
		return account{}, fmt.Errorf("system user %s has uid 0", name)
	}
	return account{name: name, uid: uid, gid: gid, drop: true}, nil
}

// removeInstanceUser removes an instance's own system user and its
// group; one already gone is no error.
func removeInstanceUser(ctx context.Context, name string) error {
	useraddMu.Lock()
	defer useraddMu.Unlock()
	if _, err := user.Lookup(name); err != nil {
		return nil
	}
	out, err := exec.CommandContext(ctx, "userdel", name).CombinedOutput()
	if err != nil {
		return fmt.Errorf("remove system user %s with userdel (%v): %s", name, err, strings.TrimSpace(string(out)))
	}
	if _, err := user.LookupGroup(name); err == nil {
		_ = exec.CommandContext(ctx, "groupdel", name).Run()
	}
	return nil
}

func asUnknownUser(err error, target *user.UnknownUserError) bool {
	u, ok := err.(user.UnknownUserError)
	if ok {
		*target = u
	}
	return ok
}

// sysProcAttr runs a child in its own session (so a terminal's Ctrl-C does
// not reach the servers) and, as root, as the account.
func (a account) sysProcAttr() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setsid: true}
	if a.drop {
		attr.Credential = &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid), NoSetGroups: true}
	}
	return attr
}

// mkdirOwned creates dir (mode 0700) owned by the account.
func (a account) mkdirOwned(dir string) error {
	if a.err != nil {
		return a.err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if a.drop {
		return os.Chown(dir, a.uid, a.gid)
	}
	return nil
}

// writeOwned writes a server's file (mode 0600) owned by the account,
// atomically but not synced: the servers' files are written again from
// the (synced) state record before every start.
func (a account) writeOwned(path string, data []byte) error {
	if a.err != nil {
		return a.err
	}
	if err := writeFile(path, data, 0o600, false); err != nil {
		return err
	}
	if a.drop {
		return os.Chown(path, a.uid, a.gid)
	}
	return nil
}

// canEnter reports the first directory on the path to dir the account
// cannot enter, or "" when it can reach dir.
func (a account) canEnter(dir string) (string, os.FileMode) {
	if !a.drop {
		return "", 0
	}
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil {
			st, ok := fi.Sys().(*syscall.Stat_t)
			mode := fi.Mode().Perm()
			var bit os.FileMode = 0o001
			switch {
			case ok && int(st.Uid) == a.uid:
				bit = 0o100
			case ok && int(st.Gid) == a.gid:
				bit = 0o010
			}
			if mode&bit == 0 {
				return d, mode
			}
		}
		if d == filepath.Dir(d) {
			return "", 0
		}
	}
}

// chownTree gives the files under dir to the account (a restore copied
// them as this process).
func (a account) chownTree(dir string) error {
	if a.err != nil {
		return a.err
	}
	if !a.drop {
		return nil
	}
	return filepath.WalkDir(dir, func(path string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, a.uid, a.gid)
	})
}
