// Command local measures the local provider against the same steps run
// by hand, in the same run and interleaved, so that the ratio holds on a
// busy machine:
//
//   - create: Create + Wait until available, against a shell script doing
//     initdb (or mariadb-install-db) + start + create database;
//   - backup: Backup + Restore + Wait of a PostgreSQL database of -gib GiB,
//     against pg_basebackup + cp + start by hand.
//
// Usage:
//
//	go run ./bench/local -what create -engine postgres -n 5
//	go run ./bench/local -what backup -gib 1 -n 3
//
// It needs the servers installed and, as root, runs them as the
// provider's unprivileged user. Everything it starts it stops and
// removes.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/providers/local"
)

func main() {
	what := flag.String("what", "create", "create or backup")
	engine := flag.String("engine", "postgres", "postgres or mariadb (create)")
	n := flag.Int("n", 5, "runs of each side")
	gib := flag.Float64("gib", 1, "database size in GiB (backup)")
	flag.Parse()
	ctx := context.Background()

	dir, err := os.MkdirTemp("", "dbaaskit-bench-")
	check(err)
	defer os.RemoveAll(dir)
	check(os.Chmod(dir, 0o711))
	p, err := local.New(ctx, local.Options{StateDir: filepath.Join(dir, "state")})
	check(err)
	defer p.Close()
	h := hand{dir: filepath.Join(dir, "hand"), p: p}
	check(os.MkdirAll(h.dir, 0o711))
	check(h.chown(h.dir))

	var prov, byHand []time.Duration
	switch *what {
	case "create":
		e := dbaas.Engine(*engine)
		// Alternate which side goes first, so caches and the load of the
		// machine favour neither.
		for i := range *n {
			if i%2 == 0 {
				prov = append(prov, createOnce(ctx, p, e, i))
				byHand = append(byHand, h.create(ctx, e, i))
			} else {
				byHand = append(byHand, h.create(ctx, e, i))
				prov = append(prov, createOnce(ctx, p, e, i))
			}
		}
	case "backup":
		src := load(ctx, p, *gib)
		for i := range *n {
			if i%2 == 0 {
				prov = append(prov, backupOnce(ctx, p, src, i))
				byHand = append(byHand, h.backup(ctx, p, src, i))
			} else {
				byHand = append(byHand, h.backup(ctx, p, src, i))
				prov = append(prov, backupOnce(ctx, p, src, i))
			}
		}
		check(p.Delete(ctx, src, dbaas.DeleteOptions{SkipFinalBackup: true}))
	default:
		log.Fatalf("-what %q: want create or backup", *what)
	}
	mp, mh := median(prov), median(byHand)
	fmt.Printf("%s %s: provider median %v %v, by hand median %v %v, ratio %.2f\n",
		*what, *engine, mp.Round(time.Millisecond), rounded(prov), mh.Round(time.Millisecond), rounded(byHand), float64(mp)/float64(mh))
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func rounded(d []time.Duration) []time.Duration {
	out := make([]time.Duration, len(d))
	for i, x := range d {
		out[i] = x.Round(time.Millisecond)
	}
	return out
}

var waitOpts = dbaas.WaitOptions{FirstDelay: 20 * time.Millisecond, MaxDelay: 50 * time.Millisecond, Expected: -1, Timeout: 10 * time.Minute}

func createOnce(ctx context.Context, p *local.Provider, e dbaas.Engine, i int) time.Duration {
	start := time.Now()
	inst, err := p.Create(ctx, dbaas.Spec{Name: fmt.Sprintf("bench-%d", i), Engine: e, Size: "small"})
	check(err)
	_, err = dbaas.Wait(ctx, p, inst.ID, waitOpts)
	check(err)
	d := time.Since(start)
	check(p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}))
	return d
}

// load makes a PostgreSQL instance holding about gib GiB (pgbench tables).
func load(ctx context.Context, p *local.Provider, gib float64) string {
	inst, err := p.Create(ctx, dbaas.Spec{Name: "bench-src", Engine: dbaas.Postgres, Size: "medium"})
	check(err)
	_, err = dbaas.Wait(ctx, p, inst.ID, waitOpts)
	check(err)
	conn, err := p.Connection(ctx, inst.ID)
	check(err)
	bin := pgBin(p)
	// pgbench scale 1 is about 15 MiB.
	scale := int(gib * 1024 / 15)
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "pgbench"), "-i", "-q", "-s", fmt.Sprint(scale),
		"-h", "127.0.0.1", "-p", fmt.Sprint(conn.Endpoint.Port), "-U", conn.User, conn.Database)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+conn.Password.Reveal())
	out, err := cmd.CombinedOutput()
	if err != nil {
		log.Fatalf("pgbench: %v: %s", err, out)
	}
	return inst.ID
}

func backupOnce(ctx context.Context, p *local.Provider, src string, i int) time.Duration {
	start := time.Now()
	b, err := p.Backup(ctx, src, fmt.Sprintf("bench-%d", i))
	check(err)
	inst, err := p.Restore(ctx, dbaas.FromBackup(b.ID), dbaas.Spec{Name: fmt.Sprintf("bench-copy-%d", i), Engine: dbaas.Postgres, Size: "medium"})
	check(err)
	_, err = dbaas.Wait(ctx, p, inst.ID, waitOpts)
	check(err)
	d := time.Since(start)
	if i == 0 {
		fmt.Printf("backup size %.2f GiB\n", float64(b.SizeBytes)/(1<<30))
	}
	check(p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}))
	check(p.DeleteBackup(ctx, b.ID))
	return d
}

func pgBin(p *local.Provider) string {
	for _, in := range p.Installations() {
		if in.Engine == dbaas.Postgres {
			return in.BinDir
		}
	}
	log.Fatal("PostgreSQL is not installed")
	return ""
}

func mariadb(p *local.Provider) local.Installation {
	for _, in := range p.Installations() {
		if in.Engine == dbaas.MariaDB {
			return in
		}
	}
	log.Fatal("MariaDB is not installed")
	return local.Installation{}
}

// hand runs the same steps as shell scripts, as the provider's user.
type hand struct {
	dir string
	p   *local.Provider
}

func (h hand) attr() *syscall.SysProcAttr {
	if os.Geteuid() != 0 {
		return nil
	}
	uid, gid := h.ids()
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
}

func (h hand) ids() (uint32, uint32) {
	out, err := exec.Command("id", "-u", h.p.RunAs()).Output()
	check(err)
	var uid, gid uint32
	fmt.Sscan(strings.TrimSpace(string(out)), &uid)
	out, err = exec.Command("id", "-g", h.p.RunAs()).Output()
	check(err)
	fmt.Sscan(strings.TrimSpace(string(out)), &gid)
	return uid, gid
}

func (h hand) chown(path string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	uid, gid := h.ids()
	return os.Chown(path, int(uid), int(gid))
}

func (h hand) sh(ctx context.Context, script string, env ...string) {
	check(h.try(ctx, script, env...))
}

// try runs a script as the provider's user.
func (h hand) try(ctx context.Context, script string, env ...string) error {
	cmd := exec.CommandContext(ctx, "/bin/sh", "-ec", script)
	cmd.SysProcAttr = h.attr()
	cmd.Env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}, env...)
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("script failed: %v\n%s\n%s", err, script, out)
	}
	return nil
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (h hand) create(ctx context.Context, e dbaas.Engine, i int) time.Duration {
	d := filepath.Join(h.dir, fmt.Sprintf("c%d", i))
	port := freePort()
	env := []string{"D=" + d, fmt.Sprintf("PORT=%d", port), "PW=Bench-password-1", "BIN=" + pgBin(h.p)}
	var script, stop string
	if e == dbaas.Postgres {
		script = `mkdir -m 700 $D
echo "$PW" > $D.pw
$BIN/initdb -D $D/data -U admin --pwfile=$D.pw -A scram-sha-256 --locale=C -E UTF8 >/dev/null
$BIN/pg_ctl -D $D/data -l $D/log -o "-p $PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" -w start >/dev/null
PGPASSWORD=$PW $BIN/createdb -h 127.0.0.1 -p $PORT -U admin app`
		stop = `[ ! -f $D/data/postmaster.pid ] || $BIN/pg_ctl -D $D/data -m fast -w stop >/dev/null; rm -rf $D $D.pw`
	} else {
		m := mariadb(h.p)
		env = append(env, "SERVER="+m.Server, "INSTALL="+m.InstallDB)
		script = `mkdir -m 700 $D $D/tmp
$INSTALL --no-defaults --user=$(id -un) --datadir=$D/data --tmpdir=$D/tmp --auth-root-authentication-method=socket --skip-test-db >/dev/null 2>&1
$SERVER --no-defaults --datadir=$D/data --tmpdir=$D/tmp --port=$PORT --bind-address=127.0.0.1 --socket=$D/sock --pid-file=$D/pid --skip-name-resolve --innodb-buffer-pool-size=16M --innodb-log-file-size=16M --performance-schema=OFF >$D/log 2>&1 &
until mariadb-admin --no-defaults -S $D/sock -u root ping >/dev/null 2>&1 || mariadb-admin --no-defaults -h 127.0.0.1 -P $PORT -u admin -p"$PW" ping >/dev/null 2>&1; do sleep 0.05; done
cat > $D/init.sql <<SQL
CREATE USER 'admin'@'127.0.0.1' IDENTIFIED BY '$PW';
GRANT ALL PRIVILEGES ON *.* TO 'admin'@'127.0.0.1' WITH GRANT OPTION;
CREATE DATABASE app;
SQL
mariadb --no-defaults -S $D/sock -u $(id -un) < $D/init.sql`
		stop = `if [ -e $D/pid ]; then kill $(cat $D/pid); while [ -e $D/pid ]; do sleep 0.05; done; fi; rm -rf $D`
	}
	h.sh(ctx, "mkdir -p "+h.dir)
	start := time.Now()
	err := h.try(ctx, script, env...)
	took := time.Since(start)
	// Stop what the script started even when it failed half way.
	stopErr := h.try(ctx, stop, env...)
	check(err)
	check(stopErr)
	return took
}

func (h hand) backup(ctx context.Context, p *local.Provider, src string, i int) time.Duration {
	conn, err := p.Connection(ctx, src)
	check(err)
	d := filepath.Join(h.dir, fmt.Sprintf("b%d", i))
	env := []string{"D=" + d, fmt.Sprintf("SRC=%d", conn.Endpoint.Port), fmt.Sprintf("PORT=%d", freePort()),
		"PGPASSWORD=" + conn.Password.Reveal(), "U=" + conn.User, "BIN=" + pgBin(p)}
	start := time.Now()
	err = h.try(ctx, `mkdir -m 700 $D
$BIN/pg_basebackup -h 127.0.0.1 -p $SRC -U $U --no-password -D $D/backup -Fp -Xstream --checkpoint=fast
cp -a $D/backup $D/data
echo "port = $PORT" >> $D/data/postgresql.auto.conf
$BIN/pg_ctl -D $D/data -l $D/log -w start >/dev/null
psql -h 127.0.0.1 -p $PORT -U $U -d postgres -Atc 'SELECT 1' >/dev/null`, env...)
	took := time.Since(start)
	stopErr := h.try(ctx, `[ ! -f $D/data/postmaster.pid ] || $BIN/pg_ctl -D $D/data -m fast -w stop >/dev/null; rm -rf $D`, env...)
	check(err)
	check(stopErr)
	return took
}
