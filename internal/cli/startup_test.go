package cli

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkStartup measures how long "dbaas version", "dbaas --help" and
// "dbaas --provider memory list" take from exec to exit, against a Go
// program that does nothing, built and run in the same benchmark so that
// the machine's load affects all alike, and the list command in dbaas-all
// (every provider in one program) beside them. It reports the median of
// each in ms, and the ratios to the no-op program (ns/op is the time of
// all together):
//
//	go test -run '^$' -bench Startup -benchtime 200x ./internal/cli
func BenchmarkStartup(b *testing.B) {
	dir := b.TempDir()
	src := filepath.Join(dir, "noop.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() {}\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	noop := filepath.Join(dir, "noop")
	build := exec.Command("go", "build", "-o", noop, src)
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build the no-op program: %v\n%s", err, out)
	}
	progs := []struct {
		name string
		argv []string
	}{
		{"noop", []string{noop}},
		{"version", []string{binary, "version"}},
		{"help", []string{binary, "--help"}},
		// A command the front hands to dbaas-core, and the same in
		// dbaas-all, the one program with every provider that dbaas was
		// before the front.
		{"list", []string{binary, "--provider", "memory", "list"}},
		{"all-list", []string{filepath.Join(filepath.Dir(binary), "dbaas-all"), "--provider", "memory", "list"}},
	}
	// One iteration runs each program once, in turn, so that a change in
	// the machine's load shifts all three alike and the ratios hold.
	took := make([][]time.Duration, len(progs))
	for b.Loop() {
		for i, pr := range progs {
			cmd := exec.Command(pr.argv[0], pr.argv[1:]...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "AWS_EC2_METADATA_DISABLED=true"}
			cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
			start := time.Now()
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
			took[i] = append(took[i], time.Since(start))
		}
	}
	median := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2]) / float64(time.Millisecond)
	}
	base := median(took[0])
	b.ReportMetric(base, "noop-median-ms")
	for i, pr := range progs[1:] {
		m := median(took[i+1])
		b.ReportMetric(m, pr.name+"-median-ms")
		b.ReportMetric(m/base, pr.name+"/noop")
	}
}
