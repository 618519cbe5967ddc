package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	_ "github.com/agiledeploy/dbaaskit/providers/digitalocean"
	_ "github.com/agiledeploy/dbaaskit/providers/linode"
	_ "github.com/agiledeploy/dbaaskit/providers/local"
	"github.com/agiledeploy/dbaaskit/toolkit"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "toolkit:", err)
		os.Exit(1)
	}
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("toolkit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	provider := fs.String("provider", "local", "provider: local, digitalocean, linode")
	baseURL := fs.String("base-url", "", "API base URL (a simulator)")
	stateDir := fs.String("state-dir", "", "state directory of the local provider")
	tk := fs.String("toolkit", os.Getenv("DATABASE_DBaaS_INSTALLATION_TYPE"), "the toolkit's DATABASE_DBaaS_INSTALLATION_TYPE string")
	name := fs.String("name", "", "instance name, without -toolkit")
	engine := fs.String("engine", "postgres", "engine, without -toolkit")
	size := fs.String("size", "small", "size, without -toolkit")
	file := fs.String("webservers", "", "file listing the web servers' addresses, one or more per line (required)")
	interval := fs.Duration("interval", time.Minute, "time between syncs")
	once := fs.Bool("once", false, "sync once and exit")
	var keep stringList
	fs.Var(&keep, "keep", "source always allowed, such as the VPC range (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("-webservers FILE is required")
	}
	kept, err := dbaas.ParseSources(keep...)
	if err != nil {
		return fmt.Errorf("-keep: %w", err)
	}

	var spec dbaas.Spec
	if *tk != "" {
		cfg, err := toolkit.Parse(*tk, *provider)
		if err != nil {
			return err
		}
		spec = cfg.Spec
	} else {
		eng, err := dbaas.ParseEngine(*engine)
		if err != nil {
			return err
		}
		spec = dbaas.Spec{Name: *name, Engine: eng, Size: *size}
	}
	cfg := dbaas.Config{BaseURL: *baseURL}
	if *stateDir != "" {
		cfg.Settings = map[string]string{"state_dir": *stateDir}
	}
	p, err := dbaas.Open(ctx, *provider, cfg)
	if err != nil {
		return err
	}
	if c, ok := p.(io.Closer); ok {
		defer c.Close()
	}

	inst, created, err := dbaas.Ensure(ctx, p, spec)
	if err != nil {
		return err
	}
	verb := "reusing"
	if created {
		verb = "created"
	}
	fmt.Fprintf(out, "%s %s (%s)\n", verb, inst.Name, inst.ID)
	inst, err = dbaas.Wait(ctx, p, inst.ID, dbaas.WaitOptions{FirstDelay: 200 * time.Millisecond, MaxDelay: 10 * time.Second, Expected: -1})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "available at %s\n", inst.Endpoint)

	tick := time.NewTicker(*interval)
	defer tick.Stop()
	for {
		syncOnce(ctx, p, inst.ID, *file, kept, out)
		if *once {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// syncOnce makes the access list the file's sources plus kept. Like a cron
// job, it reports a failure and leaves the next run to try again.
func syncOnce(ctx context.Context, p dbaas.Provider, id, file string, kept []dbaas.Source, out io.Writer) {
	servers, err := readSources(file)
	switch {
	case err != nil:
		fmt.Fprintf(out, "sync: access unchanged: %v\n", err)
		return
	case len(servers) == 0:
		fmt.Fprintf(out, "sync: access unchanged: %s lists no web server\n", file)
		return
	}
	change, err := dbaas.SyncAccess(ctx, p, id, append(kept, servers...))
	if err != nil {
		if ctx.Err() == nil {
			fmt.Fprintf(out, "sync: %v\n", err)
		}
		return
	}
	if !change.Empty() {
		var parts []string
		for _, s := range change.Added {
			parts = append(parts, "+"+s.String())
		}
		for _, s := range change.Removed {
			parts = append(parts, "-"+s.String())
		}
		fmt.Fprintf(out, "sync: %s\n", strings.Join(parts, " "))
	}
}

func readSources(file string) ([]dbaas.Source, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []dbaas.Source
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		for _, tok := range strings.Fields(line) {
			s, err := dbaas.ParseSource(tok)
			if err != nil {
				return nil, fmt.Errorf("%s line %d: %w", file, n, err)
			}
			out = append(out, s)
		}
	}
	return out, sc.Err()
}
