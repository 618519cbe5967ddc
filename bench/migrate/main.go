// Command migrate measures "dbaas migrate" against the same copy made by
// hand ("pg_dump | psql", "mariadb-dump | mariadb") between the same two
// real servers of the local provider, in the same run and interleaved
// (ABBA), so that the ratio holds on a busy machine. Both sides connect
// alike (TLS checked against the instance's CA, password from a private
// file). It reports the copy's throughput (dump bytes per second of the
// dbaas process's wall time less its verification), the verification's
// time apart, and the dbaas process's peak RSS.
//
// Run it from the repository root (it builds cmd/dbaas and cmd/dbaas-core):
//
//	go run ./bench/migrate                          # 256 MiB, both engines, 3 rounds
//	go run ./bench/migrate -size 1GiB -engines postgres -reps 2
//
// Everything it starts it stops and removes.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/providers/local"
)

func main() {
	size := flag.String("size", "256MiB", "approximate size of the dump (KiB, MiB, GiB)")
	engines := flag.String("engines", "postgres,mariadb", "comma-separated engines to measure")
	reps := flag.Int("reps", 3, "rounds; each runs both sides twice (ABBA), medians reported")
	flag.Parse()
	bytesWanted, err := parseSize(*size)
	check(err)
	ctx := context.Background()

	dir, err := os.MkdirTemp("", "dbaaskit-bench-migrate-")
	check(err)
	defer os.RemoveAll(dir)
	check(os.Chmod(dir, 0o711))
	state := filepath.Join(dir, "state")
	bin := filepath.Join(dir, "dbaas")
	// The front and the program it hands local commands to (dbaas-core).
	build := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./cmd/dbaas", "./cmd/dbaas-core")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	check(build.Run())

	p, err := local.New(ctx, local.Options{StateDir: state})
	check(err)
	defer func() {
		list, _ := p.List(ctx)
		for _, inst := range list {
			_ = p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true})
		}
		_ = p.Close()
	}()

	fmt.Printf("dump of about %s, %d rounds (ABBA), medians; copy = dbaas wall time less its verification\n", *size, *reps)
	for _, e := range strings.Split(*engines, ",") {
		engine := dbaas.Engine(strings.TrimSpace(e))
		b := &bench{p: p, bin: bin, state: state, dir: dir, engine: engine}
		b.run(ctx, bytesWanted, *reps)
	}
}

type bench struct {
	p                *local.Provider
	bin, state, dir  string
	engine           dbaas.Engine
	src, dst         *dbaas.Instance
	srcConn, dstConn *dbaas.ConnectionInfo
}

func (b *bench) run(ctx context.Context, size int64, reps int) {
	b.src = b.create(ctx, "bench-src-"+string(b.engine))
	b.dst = b.create(ctx, "bench-dst-"+string(b.engine))
	var err error
	b.srcConn, err = b.p.Connection(ctx, b.src.ID)
	check(err)
	b.dstConn, err = b.p.Connection(ctx, b.dst.ID)
	check(err)
	t0 := time.Now()
	b.populate(ctx, size)
	log.Printf("%s: populated in %s", b.engine, time.Since(t0).Round(time.Second))

	var hand, tool, stream, verify []float64
	var rss []int64
	var dumpBytes int64
	one := func(byHand bool) {
		b.reset(ctx)
		if byHand {
			hand = append(hand, b.byHand(ctx))
			return
		}
		r := b.dbaas(ctx)
		tool = append(tool, r.copy)
		stream = append(stream, r.stream)
		verify = append(verify, r.verify)
		rss = append(rss, r.rssKiB)
		dumpBytes = r.bytes
	}
	for i := range reps {
		first := i%2 == 0
		one(first)
		one(!first)
		one(!first)
		one(first)
	}
	mh, mt := median(hand), median(tool)
	rate := func(s float64) float64 { return float64(dumpBytes) / s / (1 << 20) }
	fmt.Printf("\n%s: dump %.1f MiB\n", b.engine, float64(dumpBytes)/(1<<20))
	fmt.Printf("  by hand (%s):  %6.2f s  %7.1f MiB/s\n", b.handName(), mh, rate(mh))
	fmt.Printf("  dbaas migrate copy:      %6.2f s  %7.1f MiB/s   ratio %.2f× the hand's throughput\n", mt, rate(mt), mh/mt)
	ms := median(stream)
	fmt.Printf("  of which the stream:     %6.2f s  %7.1f MiB/s   ratio %.2f× (take, fix and load alone, without the process's start and checks)\n", ms, rate(ms), mh/ms)
	fmt.Printf("  dbaas verify (apart):    %6.2f s  (both sides at once, %.1f MiB of dump)\n", median(verify), float64(dumpBytes)/(1<<20))
	fmt.Printf("  dbaas peak RSS:          %6.1f MiB (max of %d runs)\n", float64(slices.Max(rss))/1024, len(rss))
	fmt.Printf("  runs by hand %v, dbaas %v\n", round(hand), round(tool))
}

func (b *bench) handName() string {
	if b.engine == dbaas.Postgres {
		return "pg_dump | psql"
	}
	return "mariadb-dump | mariadb"
}

func (b *bench) create(ctx context.Context, name string) *dbaas.Instance {
	inst, err := b.p.Create(ctx, dbaas.Spec{Name: name, Engine: b.engine, Size: "medium"})
	check(err)
	inst, err = dbaas.Wait(ctx, b.p, inst.ID, dbaas.WaitOptions{FirstDelay: 100 * time.Millisecond, Timeout: 5 * time.Minute})
	check(err)
	return inst
}

// populate fills the source with about size bytes of dump: one wide
// table with text, numbers, timestamps and binary, and a small one.
func (b *bench) populate(ctx context.Context, size int64) {
	const rowBytes = 240 // about what a row takes in the dump
	rows := max(size/rowBytes, 1000)
	var script string
	if b.engine == dbaas.Postgres {
		script = fmt.Sprintf(`CREATE TABLE events (id bigint PRIMARY KEY, at timestamptz, kind text, amount numeric(12,2), payload text, bin bytea);
INSERT INTO events SELECT g, timestamptz '2020-01-01' + g * interval '1 second', 'kind ' || (g %% 17), g * 0.37,
  md5(g::text) || ' ' || md5((g+1)::text) || E'\t;' || md5((g+2)::text), decode(md5((g+3)::text), 'hex')
FROM generate_series(1, %d) g;
CREATE TABLE kinds (id int PRIMARY KEY, name text); INSERT INTO kinds SELECT g, 'kind ' || g FROM generate_series(0, 16) g;
`, rows)
	} else {
		script = fmt.Sprintf(`CREATE TABLE events (id bigint PRIMARY KEY, at datetime, kind varchar(20), amount decimal(12,2), payload text, bin varbinary(16));
INSERT INTO events SELECT seq, '2020-01-01' + INTERVAL seq SECOND, CONCAT('kind ', seq %% 17), seq * 0.37,
  CONCAT(MD5(seq), ' ', MD5(seq+1), '\t;', MD5(seq+2)), UNHEX(MD5(seq+3)) FROM seq_1_to_%d;
CREATE TABLE kinds (id int PRIMARY KEY, name text); INSERT INTO kinds SELECT seq, CONCAT('kind ', seq) FROM seq_0_to_16;
`, rows)
	}
	b.client(ctx, b.srcConn, script)
}

// reset empties the target's database.
func (b *bench) reset(ctx context.Context) {
	if b.engine == dbaas.Postgres {
		b.client(ctx, b.dstConn, "DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
		return
	}
	db := b.dstConn.Database
	b.client(ctx, b.dstConn, fmt.Sprintf("DROP DATABASE `%s`; CREATE DATABASE `%s`;", db, db))
}

// clientEnv returns the arguments and environment that connect psql,
// pg_dump, mariadb or mariadb-dump as conn says, as dump.Take does: the
// password in a private file, TLS checked against the instance's CA.
func (b *bench) clientEnv(conn *dbaas.ConnectionInfo, tag string) ([]string, []string) {
	check(os.MkdirAll(filepath.Join(b.dir, tag), 0o700))
	ca, err := conn.WriteCAFile(filepath.Join(b.dir, tag))
	check(err)
	if conn.Engine == dbaas.Postgres {
		pass := filepath.Join(b.dir, tag, "pgpass")
		check(os.WriteFile(pass, []byte("*:*:*:*:"+conn.Password.Reveal()+"\n"), 0o600))
		return nil, []string{"PGHOST=" + conn.Endpoint.Host, "PGPORT=" + strconv.Itoa(conn.Endpoint.Port), "PGUSER=" + conn.User,
			"PGDATABASE=" + conn.Database, "PGPASSFILE=" + pass, "PGSSLMODE=verify-ca", "PGSSLROOTCERT=" + ca}
	}
	cnf := filepath.Join(b.dir, tag, "my.cnf")
	check(os.WriteFile(cnf, []byte(fmt.Sprintf("[client]\nhost=%s\nport=%d\nuser=%s\npassword=%s\nprotocol=tcp\nssl\nssl-ca=%s\nssl-verify-server-cert\n",
		conn.Endpoint.Host, conn.Endpoint.Port, conn.User, conn.Password.Reveal(), ca)), 0o600))
	return []string{"--defaults-extra-file=" + cnf}, nil
}

// client runs SQL on conn's database with psql or mariadb.
func (b *bench) client(ctx context.Context, conn *dbaas.ConnectionInfo, sql string) {
	args, env := b.clientEnv(conn, "client")
	var cmd *exec.Cmd
	if b.engine == dbaas.Postgres {
		cmd = exec.CommandContext(ctx, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1")
	} else {
		cmd = exec.CommandContext(ctx, "mariadb", append(args, conn.Database)...)
	}
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(sql)
	if out, err := cmd.CombinedOutput(); err != nil {
		log.Fatalf("%s: %v\n%s", sql, err, out)
	}
}

// byHand copies with the tools in a shell pipeline and returns seconds.
func (b *bench) byHand(ctx context.Context) float64 {
	sa, se := b.clientEnv(b.srcConn, "src")
	da, de := b.clientEnv(b.dstConn, "dst")
	var script string
	if b.engine == dbaas.Postgres {
		// each side's environment, by prefix, in one pipeline
		script = `env ` + strings.Join(quoteAll(se), " ") + ` pg_dump --no-password | env ` + strings.Join(quoteAll(de), " ") +
			` psql -X -q --no-password -v ON_ERROR_STOP=1 --single-transaction -f - >/dev/null`
	} else {
		script = `mariadb-dump ` + strings.Join(quoteAll(sa), " ") + ` --single-transaction --routines --triggers --events --hex-blob --no-tablespaces ` +
			b.srcConn.Database + ` | mariadb ` + strings.Join(quoteAll(da), " ") + ` --binary-mode ` + b.dstConn.Database
	}
	cmd := exec.CommandContext(ctx, "/bin/bash", "-o", "pipefail", "-ec", script)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		log.Fatalf("by hand: %v\n%s", err, out)
	}
	return time.Since(start).Seconds()
}

type result struct {
	copy, stream, verify float64
	rssKiB               int64
	bytes                int64
}

// dbaas runs "dbaas migrate" and returns its copy time (wall time less
// verification), verification time and peak RSS.
func (b *bench) dbaas(ctx context.Context) result {
	cmd := exec.CommandContext(ctx, b.bin, "--set=state_dir="+b.state, "-o", "json", "migrate",
		"--from", "local:"+b.src.Name, "--to", "local:"+b.dst.Name)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		log.Fatalf("dbaas migrate: %v\n%s%s", err, out.String(), errb.String())
	}
	wall := time.Since(start).Seconds()
	var rep struct {
		Load        struct{ Bytes int64 }
		CopySeconds float64 `json:"copy_seconds"`
		Verify      struct{ Seconds float64 }
	}
	check(json.Unmarshal(out.Bytes(), &rep))
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return result{copy: wall - rep.Verify.Seconds, stream: rep.CopySeconds, verify: rep.Verify.Seconds, rssKiB: ru.Maxrss, bytes: rep.Load.Bytes}
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return out
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func round(xs []float64) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strconv.FormatFloat(x, 'f', 2, 64)
	}
	return out
}

func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(n, 64)
			if err != nil || v <= 0 {
				return 0, fmt.Errorf("-size %q: want a positive number with KiB, MiB or GiB", s)
			}
			return int64(v * float64(u.mult)), nil
		}
	}
	return 0, fmt.Errorf("-size %q: want a positive number with KiB, MiB or GiB", s)
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
