package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkStartup measures how long "dbaas version" and "dbaas --help"
// take from exec to exit, against a Go program that does nothing, built
// and run in the same benchmark so that the machine's load affects both
// alike. Each reports its median in ms besides the mean ns/op:
//
//	go test -run '^$' -bench Startup -benchtime 200x ./cmd/dbaas
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
	for _, bc := range []struct {
		name string
		argv []string
	}{
		{"noop", []string{noop}},
		{"version", []string{binary, "version"}},
		{"help", []string{binary, "--help"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				cmd := exec.Command(bc.argv[0], bc.argv[1:]...)
				cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
				cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
				start := time.Now()
				if err := cmd.Run(); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2])/float64(time.Millisecond), "median-ms")
		})
	}
}
