package dump

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// cpuTime is the CPU time this process has used. Throughput per CPU
// second is reported next to wall-clock MB/s because the machine running
// the benchmarks is shared: wall-clock figures measure the neighbours.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, size int64, cpu time.Duration) {
	b.Helper()
	if cpu > 0 {
		b.ReportMetric(float64(size)*float64(b.N)/1e6/cpu.Seconds(), "MB/cpu-s")
	}
}

// Benchmarks read dumps generated once per run into a temporary
// directory: DUMP_BENCH_SIZE bytes each (such as 1G), 64M by default so a
// casual -bench run stays short. Run them on one core with -cpu 1; the
// Sed benchmarks are the baseline, a sed pipeline applying the common
// fixes to the same file in the same run.
//
//	DUMP_BENCH_SIZE=1G go test -run XXX -bench . -cpu 1 -benchtime 3x ./dump

var bench struct {
	once  sync.Once
	dir   string
	err   error
	mu    sync.Mutex
	files map[bool]string
}

// TestMain removes the benchmark files and checks that no test left a
// goroutine behind (the 64 MiB tests feed the Reader from one).
func TestMain(m *testing.M) {
	code := m.Run()
	if bench.dir != "" {
		_ = os.RemoveAll(bench.dir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func benchSize(b *testing.B) int64 {
	b.Helper()
	s := os.Getenv("DUMP_BENCH_SIZE")
	if s == "" {
		return 64 << 20
	}
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		b.Fatalf("DUMP_BENCH_SIZE=%q: want bytes, or a number with M or G", os.Getenv("DUMP_BENCH_SIZE"))
	}
	return n * mult
}

// benchFile returns the generated dump of the dialect and its size.
func benchFile(b *testing.B, pg bool) (string, int64) {
	b.Helper()
	bench.once.Do(func() {
		bench.dir, bench.err = os.MkdirTemp("", "dump-bench-*")
		bench.files = map[bool]string{}
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	bench.mu.Lock()
	defer bench.mu.Unlock()
	if path, ok := bench.files[pg]; ok {
		fi, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		return path, fi.Size()
	}
	path := filepath.Join(bench.dir, map[bool]string{false: "mysqldump.sql", true: "pg_dump.sql"}[pg])
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	n, err := io.Copy(w, newBigDump(pg, benchSize(b)))
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		b.Fatal(err)
	}
	bench.files[pg] = path
	return path, n
}

var benchDialects = []struct {
	name string
	pg   bool
	t    Target
}{
	{"mysqldump", false, Target{Provider: "digitalocean", Engine: "mariadb", Version: "10.11"}},
	{"pg_dump", true, Target{Provider: "aws", Version: "16"}},
}

func BenchmarkScan(b *testing.B) {
	benchReport(b, func(r *Reader, t Target) error {
		rep, err := Scan(context.Background(), r, t)
		if err == nil && len(rep.Findings) == 0 {
			err = errors.New("the generated dump triggers no rule")
		}
		return err
	})
}

func BenchmarkRewrite(b *testing.B) {
	benchReport(b, func(r *Reader, t Target) error {
		rep, err := Rewrite(context.Background(), io.Discard, r, t)
		if err == nil && rep.Fixed() == 0 {
			err = errors.New("the generated dump has nothing to fix")
		}
		return err
	})
}

// benchReport runs work on a fresh Reader of each generated dump per
// iteration and reports throughput per CPU second.
func benchReport(b *testing.B, work func(r *Reader, t Target) error) {
	for _, d := range benchDialects {
		b.Run(d.name, func(b *testing.B) {
			path, size := benchFile(b, d.pg)
			b.SetBytes(size)
			b.ReportAllocs()
			b.ResetTimer()
			start := cpuTime(b)
			for i := 0; i < b.N; i++ {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				r, err := NewReader(f, "")
				if err == nil {
					err = work(r, d.t)
				}
				_ = f.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, size, cpuTime(b)-start)
		})
	}
}

// sedFixes are the usual one-liners: DEFINER, GTID_PURGED (its one line
// only: sed cannot follow a statement over lines), SQL_LOG_BIN, OWNER TO.
var sedFixes = []string{
	"-e", "s/DEFINER=`[^`]*`@`[^`]*`//g",
	"-e", "/GTID_PURGED/d",
	"-e", "/SQL_LOG_BIN/d",
	"-e", "/OWNER TO (doadmin|rds_superuser|rdsadmin|avnadmin)/d",
}

func BenchmarkSed(b *testing.B) {
	sed, err := exec.LookPath("sed")
	if err != nil {
		b.Skip("sed is not installed")
	}
	for _, d := range benchDialects {
		b.Run(d.name, func(b *testing.B) {
			path, size := benchFile(b, d.pg)
			b.SetBytes(size)
			b.ResetTimer()
			var cpu time.Duration
			for i := 0; i < b.N; i++ {
				cmd := exec.Command(sed, append(append([]string{"-E"}, sedFixes...), path)...)
				// the C locale is sed's fastest: the fairest baseline
				cmd.Env = append(os.Environ(), "LC_ALL=C")
				var stderr strings.Builder
				cmd.Stdout, cmd.Stderr = io.Discard, &stderr
				if err := cmd.Run(); err != nil {
					b.Fatal(fmt.Errorf("sed: %w: %s", err, stderr.String()))
				}
				cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			}
			reportCPU(b, size, cpu)
		})
	}
}

// BenchmarkRead is the floor: reading the file and nothing else.
func BenchmarkRead(b *testing.B) {
	for _, d := range benchDialects {
		b.Run(d.name, func(b *testing.B) {
			path, size := benchFile(b, d.pg)
			b.SetBytes(size)
			buf := make([]byte, 4<<20)
			b.ResetTimer()
			start := cpuTime(b)
			for i := 0; i < b.N; i++ {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				_, err = io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, buf)
				_ = f.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, size, cpuTime(b)-start)
		})
	}
}
