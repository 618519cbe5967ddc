package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Installation is one installed engine version and where its binaries are.
type Installation struct {
	Engine dbaas.Engine
	// Version is the major version as instances report it: "15" for
	// PostgreSQL, "10.11" for MariaDB.
	Version string
	// Full is the version the server binary prints, such as "15.20".
	Full string
	// BinDir holds the PostgreSQL binaries (initdb, postgres,
	// pg_basebackup); empty for MariaDB.
	BinDir string
	// Server, InstallDB and Backup are the MariaDB binaries (mariadbd,
	// mariadb-install-db, mariadb-backup); empty for PostgreSQL. Without
	// Backup, backups are logical: Dump (mariadb-dump) writes them and
	// Client (mariadb) loads them.
	Server, InstallDB, Backup string
	Dump, Client              string
}

// Install hints name the Debian packages that provide each engine.
const (
	installPostgres = "install PostgreSQL (Debian/Ubuntu: apt-get install postgresql; or put pg_config or initdb on PATH)"
	installMariaDB  = "install MariaDB (Debian/Ubuntu: apt-get install mariadb-server mariadb-backup)"
)

var (
	pgVersionRE    = regexp.MustCompile(`\(PostgreSQL\) ([0-9]+)(\.[0-9]+)?`)
	mariaVersionRE = regexp.MustCompile(`Ver ([0-9]+)\.([0-9]+)\.([0-9]+)-MariaDB`)
)

// Discover finds the installed engines: PostgreSQL through pg_config
// --bindir, PATH and /usr/lib/postgresql/*/bin, MariaDB through mariadbd
// (or mysqld when it is MariaDB) and mariadb-install-db on PATH and in
// /usr/sbin. Oracle MySQL servers are not used: their bootstrap differs.
func Discover(ctx context.Context) []Installation {
	out := discoverPostgres(ctx)
	if m, ok := discoverMariaDB(ctx); ok {
		out = append(out, m)
	}
	return out
}

func discoverPostgres(ctx context.Context) []Installation {
	var dirs []string
	if b, err := runQuiet(ctx, "pg_config", "--bindir"); err == nil {
		dirs = append(dirs, strings.TrimSpace(b))
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		dirs = append(dirs, filepath.Dir(p))
	}
	globbed, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	dirs = append(dirs, globbed...)
	seen := map[string]bool{}
	byVersion := map[string]Installation{}
	for _, d := range dirs {
		if d == "" || seen[d] {
			continue
		}
		seen[d] = true
		var ok = true
		for _, b := range []string{"initdb", "postgres", "pg_basebackup"} {
			if !isExecutable(filepath.Join(d, b)) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		vout, err := runQuiet(ctx, filepath.Join(d, "postgres"), "--version")
		if err != nil {
			continue
		}
		m := pgVersionRE.FindStringSubmatch(vout)
		if m == nil {
			continue
		}
		inst := Installation{Engine: dbaas.Postgres, Version: m[1], Full: m[1] + m[2], BinDir: d}
		if _, dup := byVersion[inst.Version]; !dup {
			byVersion[inst.Version] = inst
		}
	}
	out := make([]Installation, 0, len(byVersion))
	for _, v := range byVersion {
		out = append(out, v)
	}
	// Newest first, so the default version is the newest installed.
	sort.Slice(out, func(i, j int) bool { return versionLess(out[j].Version, out[i].Version) })
	return out
}

func discoverMariaDB(ctx context.Context) (Installation, bool) {
	find := func(names ...string) string {
		for _, n := range names {
			if p, err := exec.LookPath(n); err == nil {
				return p
			}
			for _, d := range []string{"/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"} {
				if p := filepath.Join(d, n); isExecutable(p) {
					return p
				}
			}
		}
		return ""
	}
	server := find("mariadbd", "mysqld")
	installDB := find("mariadb-install-db", "mysql_install_db")
	if server == "" || installDB == "" {
		return Installation{}, false
	}
	vout, err := runQuiet(ctx, server, "--version")
	if err != nil {
		return Installation{}, false
	}
	m := mariaVersionRE.FindStringSubmatch(vout)
	if m == nil {
		return Installation{}, false
	}
	return Installation{Engine: dbaas.MariaDB, Version: m[1] + "." + m[2], Full: m[1] + "." + m[2] + "." + m[3],
		Server: server, InstallDB: installDB, Backup: find("mariadb-backup", "mariabackup"),
		Dump: find("mariadb-dump", "mysqldump"), Client: find("mariadb", "mysql")}, true
}

// versionLess compares dotted numeric versions.
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		var x, y int
		_, _ = fmt.Sscan(as[i], &x)
		_, _ = fmt.Sscan(bs[i], &y)
		if x != y {
			return x < y
		}
	}
	return len(as) < len(bs)
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func runQuiet(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	b, err := exec.CommandContext(ctx, name, args...).Output()
	return string(b), err
}

// pick returns the installation for engine and version (empty: the
// newest), or an error that says what is installed and what to install.
func pick(insts []Installation, engine dbaas.Engine, version string) (Installation, error) {
	var have []string
	for _, in := range insts {
		if in.Engine != engine {
			continue
		}
		if version == "" || version == in.Version || version == in.Full || strings.HasPrefix(in.Full, version+".") {
			return in, nil
		}
		have = append(have, in.Version)
	}
	hint := installPostgres
	switch engine {
	case dbaas.MariaDB:
		hint = installMariaDB
	case dbaas.MySQL:
		hint = "the local provider runs MariaDB, not Oracle MySQL: use engine mariadb, which speaks the MySQL protocol"
	}
	if len(have) == 0 {
		return Installation{}, fail(dbaas.ErrUnsupported,
			fmt.Errorf("engine %s is not installed on this machine: %s", engine, hint))
	}
	return Installation{}, dbaas.InvalidField("version", fmt.Sprintf("%s %s is not installed (installed: %s): install it, or leave version empty for %s",
		engine, version, strings.Join(have, ", "), have[0]))
}

// EngineHint says what to install for an engine this machine lacks.
func (p *servers) EngineHint(e dbaas.Engine) string {
	if _, err := pick(p.insts, e, ""); err != nil {
		var de *dbaas.Error
		if errors.As(err, &de) && de.Err != nil {
			return de.Err.Error()
		}
		return err.Error()
	}
	return ""
}

// CheckInstalled returns nil when engine can run on this machine, and
// otherwise an error wrapping dbaas.ErrUnsupported that says what to
// install: a program can fall back to another provider before it creates
// anything.
func CheckInstalled(ctx context.Context, engine dbaas.Engine) error {
	if _, err := pick(Discover(ctx), engine, ""); err != nil {
		return fmt.Errorf("local: %w", err)
	}
	return nil
}
