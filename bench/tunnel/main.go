// Command tunnel measures the tunnel package against OpenSSH's
// "ssh -N -L" on the same sshd with the same cipher, in the same run,
// with a direct connection as the limit: throughput of one stream and of
// eight, round-trip latency of small messages, pgbench select-only TPS,
// the forwarder's CPU per 100 MB, and memory per idle forwarded
// connection.
//
// It measures over each link -links names: loopback (the forwarders
// connect to sshd directly, where CPU per byte decides), and links
// emulated with toxiproxy (github.com/Shopify/toxiproxy/v2, as a library,
// in a process of its own) between the forwarders and sshd, as when the
// tunnel runs on a web server and the relay in another network:
//
//	region  same region: 1 ms ± 0.2 ms round trip, 1 Gbit/s each way
//	clouds  across clouds: 20 ms ± 2 ms round trip, 200 Mbit/s each way
//
// toxiproxy delays each direction on its own (its upstream and
// downstream toxics), so each direction gets half the round trip with
// half the jitter, and a round trip takes the profile's time ± its
// jitter. The direct path crosses the same link, without SSH; toxiproxy
// applies the bandwidth to each TCP connection, so eight direct streams
// get eight times the link's rate, while the SSH paths carry all their
// streams in one connection, as they would on a real link. Each link
// gets its own ssh and tunnel processes; within a link, every
// measurement interleaves the paths so that a change of machine load
// hits them alike. Latency quantiles are of all the repetitions' round
// trips pooled (the paths take turns every 50), with a 95% bootstrap
// interval of each ratio. The summary at the end gives tunnel/openssh
// for each.
//
// It needs sshd and ssh (Debian: openssh-server, openssh-client), and for
// pgbench PostgreSQL on 127.0.0.1:5432 with trust authentication and
// pgbench. Run it from the repository root:
//
//	go run ./bench/tunnel                   # full size: 1 GiB on loopback, 1000 connections
//	go run ./bench/tunnel -size 64MiB -reps 1 -conns 100 -pgbench 3s
//	go run ./bench/tunnel -links clouds -linksize 64MiB -runs down1,latency
//	go run ./bench/tunnel -size 256MiB -runs down1,downN -tunnelprofile cpu.prof
//	go run ./bench/tunnel -runs down1,downN -tunnelenv GOGC=400
//
// Two tunnel processes are measured: "tunnel" runs as the dbaas CLI's
// tunnel command does (tunnel.TuneProcess), the counterpart of ssh -N -L;
// "tunnel-lib" is the package in a program that leaves the Go runtime at
// its defaults. -runs picks measurements; -tunnelprofile and
// -tunnelmemprofile write the tunnel process's CPU and allocation
// profiles; -tunnelenv adds a third, a tunnel-lib process with those
// environment settings, measured interleaved with the others.
//
// The tunnel and the byte sink each run in a process of their own (this
// program started again with -mode), as ssh does, so no side shares a Go
// runtime with the load generator.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/sshtest"
	"github.com/agiledeploy/dbaaskit/tunnel"
	"golang.org/x/crypto/ssh"
)

func main() {
	tb := &programTB{}
	// Interrupted, it still stops the sshd, ssh and child processes it
	// started.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		tb.cleanup()
		os.Exit(130)
	}()
	err := benchMain(os.Args[1:], tb)
	tb.cleanup()
	if err != nil {
		log.Fatal(err)
	}
}

// benchMain is the program: it parses args and runs the mode they name.
// tb holds what must be cleaned up at the end (a test passes its own).
func benchMain(args []string, tb sshtest.TB) error {
	fs := flag.NewFlagSet("tunnel", flag.ContinueOnError)
	mode := fs.String("mode", "bench", "bench, or (internal) sink, tunnel or link")
	size := fs.String("size", "1GiB", "bytes moved by each throughput run on loopback")
	linkSize := fs.String("linksize", "", "bytes moved by each throughput run over a link; default per link (512MiB same region, 128MiB across clouds)")
	streams := fs.Int("streams", 8, "parallel streams")
	rounds := fs.Int("rounds", 10000, "round trips of the latency run on loopback, per repetition")
	linkRounds := fs.Int("linkrounds", 0, "round trips of the latency run over a link, per repetition; default per link (10000 same region, 2000 across clouds)")
	msg := fs.Int("msg", 64, "bytes per latency message")
	conns := fs.Int("conns", 1000, "idle connections held open for the memory run")
	pgTime := fs.Duration("pgbench", 10*time.Second, "length of each pgbench run; 0 skips pgbench")
	pgClients := fs.Int("pgclients", 8, "pgbench clients")
	reps := fs.Int("reps", 3, "repetitions of each measurement (the median is reported; latency pools them)")
	cipher := fs.String("cipher", "aes128-gcm@openssh.com", "SSH cipher both sides use")
	links := fs.String("links", "loopback,region,clouds", "comma-separated links between the forwarders and sshd: loopback (none), region (1 ms, 1 Gbit/s), clouds (20 ms, 200 Mbit/s)")
	// Internal: the tunnel and link processes' settings.
	relay := fs.String("relay", "", "internal: relay host:port")
	user := fs.String("user", "", "internal: login")
	key := fs.String("key", "", "internal: key file")
	known := fs.String("known", "", "internal: known_hosts file")
	remotes := fs.String("remotes", "", "internal: comma-separated host:port to forward (tunnel) or to put behind the link (link)")
	profile := fs.String("profile", "", "internal: the link profile")
	cpuProfile := fs.String("tunnelprofile", "", "write the tunnel process's CPU profile to this file (the last link's)")
	memProfile := fs.String("tunnelmemprofile", "", "write the tunnel process's allocation profile to this file (the last link's)")
	tunnelEnv := fs.String("tunnelenv", "", "space-separated NAME=value settings (e.g. \"GOGC=400\") for a third tunnel process (tunnel-lib with them), measured in the same run as path tunnel+env")
	dedicated := fs.Bool("dedicated", false, "internal: tune the tunnel process as the dbaas CLI's tunnel command does (tunnel.TuneProcess)")
	runs := fs.String("runs", "all", "comma-separated measurements to run: down1, up1, downN, latency, pgbench, idle, or all")
	if err := fs.Parse(args); err != nil {
		return err
	}

	switch *mode {
	case "sink":
		runSink()
	case "tunnel":
		runTunnel(*relay, *user, *key, *known, *remotes, *cipher, *cpuProfile, *memProfile, *dedicated)
	case "link":
		runLink(*profile, *remotes)
	case "bench":
		n, err := parseSize(*size)
		if err != nil {
			return err
		}
		var ln int64
		if *linkSize != "" {
			if ln, err = parseSize(*linkSize); err != nil {
				return err
			}
		}
		b := &bench{tb: tb, size: n, linkSize: ln, streams: *streams, rounds: *rounds, linkRounds: *linkRounds,
			msg: *msg, conns: *conns, pgTime: *pgTime, pgClients: *pgClients, reps: *reps, cipher: *cipher,
			profile: *cpuProfile, memProfile: *memProfile, tunnelEnv: strings.Fields(*tunnelEnv), runs: map[string]bool{}}
		for _, r := range strings.Split(*runs, ",") {
			b.runs[strings.TrimSpace(r)] = true
		}
		for _, l := range strings.Split(*links, ",") {
			l = strings.TrimSpace(l)
			if _, ok := linkProfiles[l]; !ok && l != "loopback" {
				return fmt.Errorf("-links: unknown link %q: want loopback, region or clouds", l)
			}
			b.links = append(b.links, l)
		}
		return b.run()
	default:
		return fmt.Errorf("unknown -mode %q", *mode)
	}
	return nil
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = v, u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("-size %q: want a positive number with an optional KiB, MiB or GiB", s)
	}
	return n * mult, nil
}

// programTB gives sshtest what it needs outside a test: cleanups run at
// exit, Fatalf cleans up before it exits.
type programTB struct {
	mu       sync.Mutex
	cleanups []func()
}

func (t *programTB) Helper() {}
func (t *programTB) Fatalf(format string, args ...any) {
	t.cleanup()
	log.Fatalf(format, args...)
}
func (t *programTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}
func (t *programTB) TempDir() string {
	d, err := os.MkdirTemp("", "tunnel-bench-")
	if err != nil {
		t.Fatalf("temp dir: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}
func (t *programTB) cleanup() {
	t.mu.Lock()
	fs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// The sink's commands, sent as the first byte of a connection.
const (
	cmdDownload = 'D' // then 8 bytes of size: the sink sends that many bytes
	cmdUpload   = 'U' // then 8 bytes of size: the sink reads that many bytes and answers the count
	cmdEcho     = 'E' // the sink echoes
	cmdIdle     = 'I' // the sink answers one byte, then waits for EOF
)

func runSink() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ADDR", ln.Addr())
	go func() {
		// The parent closes stdin to stop the sink.
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	block := make([]byte, 64*1024)
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go serveSink(c.(*net.TCPConn), block)
	}
}

func serveSink(c *net.TCPConn, block []byte) {
	defer c.Close()
	var cmd [1]byte
	if _, err := io.ReadFull(c, cmd[:]); err != nil {
		return
	}
	switch cmd[0] {
	case cmdDownload:
		var sz [8]byte
		if _, err := io.ReadFull(c, sz[:]); err != nil {
			return
		}
		left := int64(binary.BigEndian.Uint64(sz[:]))
		for left > 0 {
			n := min(left, int64(len(block)))
			if _, err := c.Write(block[:n]); err != nil {
				return
			}
			left -= n
		}
		_ = c.CloseWrite()
		_, _ = io.Copy(io.Discard, c)
	case cmdUpload:
		// The size comes first rather than a half-close at the end:
		// toxiproxy, which emulates the links, does not carry
		// half-closes.
		var sz [8]byte
		if _, err := io.ReadFull(c, sz[:]); err != nil {
			return
		}
		n, _ := io.CopyBuffer(io.Discard, io.LimitReader(c, int64(binary.BigEndian.Uint64(sz[:]))), make([]byte, 64*1024))
		var out [8]byte
		binary.BigEndian.PutUint64(out[:], uint64(n))
		_, _ = c.Write(out[:])
	case cmdEcho:
		_, _ = io.Copy(c, c)
	case cmdIdle:
		if _, err := c.Write([]byte{1}); err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, c)
	}
}

func runTunnel(relay, user, key, known, remotes, cipher, profile, memProfile string, dedicated bool) {
	if memProfile != "" {
		// Every allocation, so the profile shows the per-packet ones.
		runtime.MemProfileRate = 1
		defer func() {
			f, err := os.Create(memProfile)
			if err != nil {
				log.Fatal(err)
			}
			if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
				log.Fatal(err)
			}
			_ = f.Close()
		}()
	}
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer func() { pprof.StopCPUProfile(); _ = f.Close() }()
	}
	var cfgs []tunnel.Config
	for _, r := range strings.Split(remotes, ",") {
		e, err := dbaas.SplitEndpoint(r)
		if err != nil {
			log.Fatal(err)
		}
		cfgs = append(cfgs, tunnel.Config{
			Relays:     []tunnel.Relay{{Hop: tunnel.Hop{Host: relay, User: user}}},
			Remote:     e,
			Auth:       tunnel.Auth{KeyFiles: []string{key}},
			KnownHosts: []string{known},
			Ciphers:    []string{cipher},
			MaxConns:   100_000,
		})
	}
	if dedicated {
		tunnel.TuneProcess()
	}
	var ts []*tunnel.Tunnel
	for _, cfg := range cfgs {
		t, err := tunnel.Open(context.Background(), cfg)
		if err != nil {
			log.Fatal(err)
		}
		ts = append(ts, t)
		fmt.Println("ADDR", t.Addr())
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() == "mem" {
			runtime.GC()
			debug.FreeOSMemory()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			fmt.Println("MEM", m.HeapInuse+m.StackInuse, runtime.NumGoroutine())
		}
	}
	for _, t := range ts {
		_ = t.Close()
	}
}

type bench struct {
	tb                          sshtest.TB
	size, linkSize              int64
	streams, rounds, msg, conns int
	linkRounds                  int
	pgTime                      time.Duration
	pgClients, reps             int
	cipher, profile, memProfile string
	runs                        map[string]bool
	links                       []string
	tunnelEnv                   []string
	sinkAddr, pgAddr            string
	withPG                      bool
	sshd                        *sshtest.Sshd
	key                         *sshtest.Key

	// The current link's forwarders, and what stops them.
	link                *linkProfile // nil on loopback
	paths               []path
	sshProc, tunnelProc *os.Process
	tunnelIn            io.Writer
	tunnelOut           *bufio.Scanner
	stops               []func()
	// summary holds each link's ratios against OpenSSH, for the table at
	// the end.
	summary []summaryRow
}

type summaryRow struct {
	link, what string
	ratio      float64
	ci         string // the ratio's 95% interval, where it has one
	target     string
}

type path struct {
	name     string
	sink, pg string
	proc     *os.Process // the forwarding process; nil for direct
}

// child starts this program in mode with args and returns the ADDR lines
// it prints first. It stops when the current link's forwarders stop.
func (b *bench) child(mode string, nAddr int, args ...string) (*exec.Cmd, io.WriteCloser, *bufio.Scanner, []string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	cmd := exec.Command(self, append([]string{"-mode", mode}, args...)...)
	cmd.Stderr = os.Stderr
	if strings.HasPrefix(mode, "tunnel") {
		cmd.Args[2] = "tunnel"
	}
	if mode == "tunnel+env" {
		cmd.Env = append(os.Environ(), b.tunnelEnv...)
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, nil, err
	}
	var once sync.Once
	stop := func() { once.Do(func() { _ = in.Close(); _ = cmd.Wait() }) }
	b.tb.Cleanup(stop)
	if mode != "sink" {
		b.stops = append(b.stops, stop)
	}
	sc := bufio.NewScanner(out)
	var addrs []string
	for len(addrs) < nAddr && sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) < nAddr {
		return nil, nil, nil, nil, fmt.Errorf("%s process gave no address", mode)
	}
	return cmd, in, sc, addrs, nil
}

func (b *bench) run() error {
	_, _, _, addrs, err := b.child("sink", 1)
	if err != nil {
		return err
	}
	b.sinkAddr = addrs[0]
	b.pgAddr = "127.0.0.1:5432"
	b.withPG = b.pgTime > 0
	if b.withPG {
		if c, err := net.DialTimeout("tcp", b.pgAddr, time.Second); err != nil {
			log.Printf("PostgreSQL is not on %s: pgbench skipped", b.pgAddr)
			b.withPG = false
		} else {
			_ = c.Close()
		}
	}
	if b.withPG && b.want("pgbench") {
		if err := b.pgbenchInit(); err != nil {
			log.Printf("pgbench skipped: %v", err)
			b.withPG = false
		}
	}

	dir := b.tb.TempDir()
	b.key = sshtest.NewKey(b.tb, dir)
	b.sshd = sshtest.StartSshd(b.tb, sshtest.SshdOptions{AuthorizedKeys: []ssh.PublicKey{b.key.Public},
		Config: []string{"Ciphers " + b.cipher, "MaxStartups 2000"}})

	fmt.Println("paths: direct (no SSH: the limit), openssh (ssh -N -L), tunnel (as dbaas tunnel runs it: tunnel.TuneProcess), tunnel-lib (default Go runtime settings; loopback only)")
	fmt.Printf("cipher %s, %d CPUs, GOMAXPROCS %d, %d repetitions (median), load average %s\n", b.cipher, runtime.NumCPU(), runtime.GOMAXPROCS(0), b.reps, loadAvg())
	fmt.Printf("ssh: %s\n", sshVersion())
	for _, name := range b.links {
		if err := b.runLink(name); err != nil {
			return err
		}
	}
	b.printSummary()
	return nil
}

// runLink starts the forwarders through the link called name, measures
// them, and stops them.
func (b *bench) runLink(name string) error {
	defer func() {
		for i := len(b.stops) - 1; i >= 0; i-- {
			b.stops[i]()
		}
		b.stops = nil
	}()
	size, rounds := b.size, b.rounds
	sshdAddr, sinkAddr, pgAddr := b.sshd.Addr, b.sinkAddr, b.pgAddr
	b.link = nil
	if p, ok := linkProfiles[name]; ok {
		b.link = &p
		size, rounds = p.size, p.rounds
		if b.linkSize > 0 {
			size = b.linkSize
		}
		if b.linkRounds > 0 {
			rounds = b.linkRounds
		}
		// One proxy each for sshd, and for the sink and PostgreSQL, so
		// that the direct path crosses the same link without SSH.
		_, _, _, addrs, err := b.child("link", 3, "-profile", name, "-remotes", strings.Join([]string{sshdAddr, sinkAddr, pgAddr}, ","))
		if err != nil {
			return err
		}
		sshdAddr, sinkAddr, pgAddr = addrs[0], addrs[1], addrs[2]
		fmt.Printf("\n== link %s: toxiproxy between the forwarders and sshd, half the round trip (± half the jitter) and the bandwidth each way; %d MB per throughput run, %d round trips per repetition ==\n",
			p.what, size/1e6, rounds)
	} else {
		fmt.Printf("\n== loopback: no link; %d MB per throughput run, %d round trips per repetition ==\n", size/1e6, rounds)
	}
	_, port, _ := net.SplitHostPort(sshdAddr)
	known := sshtest.WriteKnownHosts(b.tb, b.tb.TempDir(), sshtest.KnownHostsLine(sshdAddr, b.sshd.HostKey))

	// OpenSSH's client, as the shell toolkit ran it (with host keys checked).
	sshSink, sshPG := freePort(), freePort()
	args := []string{"-N", "-p", port, "-i", b.key.Path,
		"-o", "UserKnownHostsFile=" + known, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
		"-o", "ExitOnForwardFailure=yes", "-o", "Ciphers=" + b.cipher, "-o", "ServerAliveInterval=15",
		"-L", fmt.Sprintf("127.0.0.1:%d:%s", sshSink, b.sinkAddr)}
	if b.withPG {
		args = append(args, "-L", fmt.Sprintf("127.0.0.1:%d:%s", sshPG, b.pgAddr))
	}
	args = append(args, b.sshd.User+"@127.0.0.1")
	sshCmd := exec.Command("ssh", args...)
	sshCmd.Stderr = os.Stderr
	if err := sshCmd.Start(); err != nil {
		return fmt.Errorf("start ssh: %w", err)
	}
	b.sshProc = sshCmd.Process
	var once sync.Once
	stopSSH := func() { once.Do(func() { _ = sshCmd.Process.Kill(); _ = sshCmd.Wait() }) }
	b.tb.Cleanup(stopSSH)
	b.stops = append(b.stops, stopSSH)
	if err := waitListen(fmt.Sprintf("127.0.0.1:%d", sshSink)); err != nil {
		return fmt.Errorf("ssh -L: %w", err)
	}

	remotes := b.sinkAddr
	n := 1
	if b.withPG {
		remotes += "," + b.pgAddr
		n = 2
	}
	tunnelArgs := []string{"-relay", sshdAddr, "-user", b.sshd.User, "-key", b.key.Path,
		"-known", known, "-remotes", remotes, "-cipher", b.cipher}
	// tunnel: the process as "dbaas tunnel" runs it, the counterpart of
	// "ssh -N -L". It gets the profiles and answers the memory queries.
	tcmd, tin, tout, taddrs, err := b.child("tunnel", n, append(slices.Clone(tunnelArgs), "-dedicated",
		"-tunnelprofile", b.profile, "-tunnelmemprofile", b.memProfile)...)
	if err != nil {
		return err
	}
	b.tunnelProc, b.tunnelIn, b.tunnelOut = tcmd.Process, tin, tout

	b.paths = []path{
		{name: "direct", sink: sinkAddr, pg: pgAddr},
		{name: "openssh", sink: fmt.Sprintf("127.0.0.1:%d", sshSink), pg: fmt.Sprintf("127.0.0.1:%d", sshPG), proc: b.sshProc},
		{name: "tunnel", sink: taddrs[0], proc: tcmd.Process},
	}
	if b.withPG {
		b.paths[2].pg = taddrs[1]
	}
	// tunnel-lib: the package in a program that leaves the Go runtime at
	// its defaults; tunnel+env: the same with -tunnelenv's settings. On
	// loopback only, where the CPU they spend shows.
	var variants []string
	if b.link == nil {
		variants = append(variants, "tunnel-lib")
		if len(b.tunnelEnv) > 0 {
			variants = append(variants, "tunnel+env")
			fmt.Printf("tunnel+env: a tunnel-lib process with %s\n", strings.Join(b.tunnelEnv, " "))
		}
	}
	for _, mode := range variants {
		cmd, _, _, addrs, err := b.child(mode, n, tunnelArgs...)
		if err != nil {
			return err
		}
		p := path{name: mode, sink: addrs[0], proc: cmd.Process}
		if b.withPG {
			p.pg = addrs[1]
		}
		b.paths = append(b.paths, p)
	}

	for _, run := range []struct {
		name    string
		what    string
		streams int
		cmd     byte
	}{
		{"down1", "download, 1 stream", 1, cmdDownload},
		{"up1", "upload, 1 stream", 1, cmdUpload},
		{"downN", fmt.Sprintf("download, %d streams", b.streams), b.streams, cmdDownload},
	} {
		if !b.want(run.name) {
			continue
		}
		cpu, faults := map[string][]float64{}, map[string][]float64{}
		b.measure(run.what+" (MB/s)", "≥ 0.97", func(p path) (float64, error) {
			c0, f0 := b.cpu(p)
			v, err := b.throughput(p.sink, size, run.streams, run.cmd)
			c1, f1 := b.cpu(p)
			cpu[p.name] = append(cpu[p.name], (c1-c0)*1000/(float64(size)/1e8))
			faults[p.name] = append(faults[p.name], (f1-f0)/(float64(size)/1e8))
			return v, err
		})
		b.report(run.what+" (forwarder CPU ms/100MB)", "", cpu)
		b.report(run.what+" (forwarder page faults/100MB)", "", faults)
	}
	if b.want("latency") {
		b.latencies(rounds)
	}
	if b.withPG && b.want("pgbench") {
		b.measure(fmt.Sprintf("pgbench -S, %d clients, %s (TPS)", b.pgClients, b.pgTime), "≥ 0.97", func(p path) (float64, error) { return b.pgbench(p.pg) })
	}
	if b.link == nil && b.want("idle") {
		return b.idle()
	}
	return nil
}

func (b *bench) linkName() string {
	if b.link == nil {
		return "loopback"
	}
	return b.link.name
}

func (b *bench) printSummary() {
	fmt.Println("\n== summary: tunnel / openssh, same run, same sshd, cipher and link (throughput, CPU and TPS: median of the repetitions; latency: quantile of the pooled round trips, with its 95% interval) ==")
	for _, r := range b.summary {
		fmt.Printf("%-9s %-46s %7.3f  %-16s  %s\n", r.link, r.what, r.ratio, r.ci, r.target)
	}
}

// loadAvg returns the 1, 5 and 15 minute load averages.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// want reports whether the measurement name was asked for with -runs.
func (b *bench) want(name string) bool { return b.runs["all"] || b.runs[name] }

// latencyBlock is the number of round trips a path makes before the
// next path's turn.
const latencyBlock = 50

// latencies measures round trips of small messages, rounds × reps on
// each path, through one connection per path. The paths take turns in
// blocks of latencyBlock round trips (each block starting with the next
// path), so that a change of machine load, or a stall of the link
// process, hits every path alike; and the quantiles are of the pooled
// samples, not medians of per-repetition quantiles: a p99 of 500 round
// trips is their five slowest, which one stall anywhere on the machine
// decides. Each ratio comes with its 95% bootstrap interval.
func (b *bench) latencies(rounds int) {
	conns := make([]*echoConn, len(b.paths))
	for i, p := range b.paths {
		c, err := b.dialEcho(p.sink, min(100, rounds/10))
		if err != nil {
			log.Printf("latency via %s: %v", p.name, err)
			return
		}
		defer c.Close()
		conns[i] = c
	}
	samples := map[string][]float64{}
	total := rounds * b.reps
	for done, turn := 0, 0; done < total; done, turn = done+latencyBlock, turn+1 {
		n := min(latencyBlock, total-done)
		for k := range b.paths {
			i := (turn + k) % len(b.paths)
			d, err := conns[i].rounds(n)
			if err != nil {
				log.Printf("latency via %s: %v", b.paths[i].name, err)
				return
			}
			samples[b.paths[i].name] = append(samples[b.paths[i].name], d...)
		}
	}
	for _, s := range samples {
		slices.Sort(s)
	}
	for _, q := range []struct {
		name string
		q    float64
	}{{"p50", 0.50}, {"p99", 0.99}} {
		b.reportQuantile(fmt.Sprintf("latency %s of %d × %d B (µs)", q.name, total, b.msg), q.q, samples)
	}
}

// reportQuantile prints the q-quantile of each path's sorted samples and
// the tunnel/openssh ratio with its 95% bootstrap interval, and keeps
// them for the summary.
func (b *bench) reportQuantile(what string, q float64, samples map[string][]float64) {
	d, o, t := quantile(samples["direct"], q), quantile(samples["openssh"], q), quantile(samples["tunnel"], q)
	ratio, ci := 0.0, ""
	if o > 0 {
		ratio = t / o
		lo, hi := ratioCI(samples["tunnel"], samples["openssh"], q, 1000)
		ci = fmt.Sprintf("[%.3f, %.3f]", lo, hi)
	}
	b.summary = append(b.summary, summaryRow{link: b.linkName(), what: what, ratio: ratio, ci: ci, target: "≤ 1.05"})
	fmt.Printf("%-40s direct %10.1f  openssh %10.1f  tunnel %10.1f  tunnel/openssh %.3f  95%% interval %s",
		what, d, o, t, ratio, ci)
	for _, name := range []string{"tunnel-lib", "tunnel+env"} {
		if e, ok := samples[name]; ok && o > 0 {
			fmt.Printf("  %s %.1f, /openssh %.3f", name, quantile(e, q), quantile(e, q)/o)
		}
	}
	fmt.Println()
}

func sshVersion() string {
	out, _ := exec.Command("ssh", "-V").CombinedOutput()
	return strings.TrimSpace(string(out))
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitListen(addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on %s after 10s", addr)
}

// measure runs f on every path reps times, interleaved so that a change
// of machine load hits every path alike, and prints the medians.
func (b *bench) measure(what, target string, f func(p path) (float64, error)) {
	res := map[string][]float64{}
	for range b.reps {
		for _, p := range b.paths {
			v, err := f(p)
			if err != nil {
				log.Printf("%s via %s: %v", what, p.name, err)
				continue
			}
			res[p.name] = append(res[p.name], v)
		}
	}
	b.report(what, target, res)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// report prints the medians of one measurement and keeps the ratio of
// the tunnel to OpenSSH for the summary, with its target.
func (b *bench) report(what, target string, res map[string][]float64) {
	d, o, t := median(res["direct"]), median(res["openssh"]), median(res["tunnel"])
	ratio := 0.0
	if o > 0 {
		ratio = t / o
	}
	b.summary = append(b.summary, summaryRow{link: b.linkName(), what: what, ratio: ratio, target: target})
	fmt.Printf("%-40s direct %10.1f  openssh %10.1f  tunnel %10.1f  tunnel/openssh %.3f  (tunnel %v)",
		what, d, o, t, ratio, round(res["tunnel"]))
	for _, name := range []string{"tunnel-lib", "tunnel+env"} {
		if e, ok := res[name]; ok && o > 0 {
			fmt.Printf("  %s %.1f, /openssh %.3f", name, median(e), median(e)/o)
		}
	}
	fmt.Println()
}

func round(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(int(x*10)) / 10
	}
	return out
}

func (b *bench) throughput(addr string, size int64, streams int, cmd byte) (float64, error) {
	per := size / int64(streams)
	var wg sync.WaitGroup
	errs := make([]error, streams)
	start := time.Now()
	for i := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = transfer(addr, cmd, per)
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	return float64(per*int64(streams)) / secs / 1e6, nil
}

func transfer(addr string, cmd byte, size int64) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	switch cmd {
	case cmdDownload:
		var hdr [9]byte
		hdr[0] = cmdDownload
		binary.BigEndian.PutUint64(hdr[1:], uint64(size))
		if _, err := c.Write(hdr[:]); err != nil {
			return err
		}
		n, err := io.CopyBuffer(io.Discard, c, make([]byte, 64*1024))
		if err != nil {
			return err
		}
		if n != size {
			return fmt.Errorf("got %d bytes, want %d", n, size)
		}
	case cmdUpload:
		var hdr [9]byte
		hdr[0] = cmdUpload
		binary.BigEndian.PutUint64(hdr[1:], uint64(size))
		if _, err := c.Write(hdr[:]); err != nil {
			return err
		}
		block := make([]byte, 64*1024)
		for left := size; left > 0; {
			n := min(left, int64(len(block)))
			if _, err := c.Write(block[:n]); err != nil {
				return err
			}
			left -= n
		}
		var got [8]byte
		if _, err := io.ReadFull(c, got[:]); err != nil {
			return fmt.Errorf("reading the count: %w", err)
		}
		if n := int64(binary.BigEndian.Uint64(got[:])); n != size {
			return fmt.Errorf("sink got %d bytes, want %d", n, size)
		}
	}
	return nil
}

// echoConn is a connection to the sink's echo command.
type echoConn struct {
	net.Conn
	out, in []byte
}

// dialEcho connects to the sink at addr for echoes of b.msg bytes and
// makes warm round trips that are not measured, which warm up both sides.
func (b *bench) dialEcho(addr string, warm int) (*echoConn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	e := &echoConn{Conn: c, out: make([]byte, b.msg), in: make([]byte, b.msg)}
	if _, err := c.Write([]byte{cmdEcho}); err != nil {
		_ = c.Close()
		return nil, err
	}
	if _, err := e.rounds(warm); err != nil {
		_ = c.Close()
		return nil, err
	}
	return e, nil
}

// rounds makes n round trips and returns how long each took, in µs.
func (e *echoConn) rounds(n int) ([]float64, error) {
	d := make([]float64, 0, n)
	for range n {
		start := time.Now()
		if _, err := e.Write(e.out); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(e, e.in); err != nil {
			return nil, err
		}
		d = append(d, float64(time.Since(start).Nanoseconds())/1e3)
	}
	return d, nil
}

func (b *bench) pgbenchInit() error {
	if _, err := exec.LookPath("pgbench"); err != nil {
		if _, err := os.Stat("/usr/lib/postgresql/15/bin/pgbench"); err != nil {
			return errors.New("pgbench is not installed")
		}
		_ = os.Setenv("PATH", os.Getenv("PATH")+":/usr/lib/postgresql/15/bin")
	}
	_ = exec.Command("psql", "-h", "127.0.0.1", "-U", "postgres", "-c", "CREATE DATABASE tunnel_bench").Run()
	out, err := exec.Command("pgbench", "-i", "-q", "-s", "1", "-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "tunnel_bench").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgbench -i: %v: %s", err, out)
	}
	return nil
}

var tpsRE = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

func (b *bench) pgbench(addr string) (float64, error) {
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command("pgbench", "-S", "-n", "-T", strconv.Itoa(int(b.pgTime.Seconds())), "-c", strconv.Itoa(b.pgClients),
		"-j", "2", "-h", host, "-p", port, "-U", "postgres", "tunnel_bench").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench: %v: %s", err, out)
	}
	m := tpsRE.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("pgbench printed no tps: %s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// idle holds conns connections open through OpenSSH and through the
// tunnel, each proven end to end, and reports what each holds per
// connection: resident memory of the ssh and tunnel processes, and the
// tunnel's Go heap and stacks.
func (b *bench) idle() error {
	// The openssh and tunnel paths; the tunnel+env one holds the same
	// data structures.
	for _, p := range b.paths[1:3] {
		proc := b.sshProc
		if p.name == "tunnel" {
			proc = b.tunnelProc
		}
		goBefore, _ := b.tunnelMem()
		rssBefore := rss(proc.Pid)
		var held []net.Conn
		for range b.conns {
			c, err := net.Dial("tcp", p.sink)
			if err != nil {
				return fmt.Errorf("idle via %s: %w", p.name, err)
			}
			held = append(held, c)
			if _, err := c.Write([]byte{cmdIdle}); err != nil {
				return err
			}
			var ack [1]byte
			if _, err := io.ReadFull(c, ack[:]); err != nil {
				return fmt.Errorf("idle via %s after %d connections: %w", p.name, len(held), err)
			}
		}
		time.Sleep(500 * time.Millisecond)
		rssAfter := rss(proc.Pid)
		goAfter, goroutines := b.tunnelMem()
		line := fmt.Sprintf("%-8s %d idle connections: RSS +%.1f KiB per connection", p.name, b.conns, float64(rssAfter-rssBefore)/1024/float64(b.conns))
		if p.name == "tunnel" {
			line += fmt.Sprintf(", Go heap+stacks +%.1f KiB per connection, %d goroutines", float64(goAfter-goBefore)/1024/float64(b.conns), goroutines)
		}
		fmt.Println(line)
		for _, c := range held {
			_ = c.Close()
		}
		time.Sleep(500 * time.Millisecond)
	}
	return nil
}

func (b *bench) tunnelMem() (int64, int) {
	fmt.Fprintln(b.tunnelIn, "mem")
	for b.tunnelOut.Scan() {
		f := strings.Fields(b.tunnelOut.Text())
		if len(f) == 3 && f[0] == "MEM" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			g, _ := strconv.Atoi(f[2])
			return n, g
		}
	}
	return 0, 0
}

// rss returns the resident set size of pid in bytes.
func rss(pid int) int64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// cpu returns the CPU seconds the forwarding process of p (ssh or the
// tunnel) has used, and the minor page faults it has taken; 0 for the
// direct path. On a loaded machine wall-clock throughput moves with the
// load; CPU per byte does not.
func (b *bench) cpu(p path) (secs, faults float64) {
	if p.proc == nil {
		return 0, 0
	}
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.proc.Pid), "stat"))
	if err != nil {
		return 0, 0
	}
	i := strings.LastIndexByte(string(data), ')')
	f := strings.Fields(string(data[i+1:]))
	// Fields after the command: state(0) ... minflt(7) ... utime(11)
	// stime(12), times in clock ticks of 1/100 s on Linux.
	minflt, _ := strconv.ParseFloat(f[7], 64)
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100, minflt
}
