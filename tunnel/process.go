package tunnel

import (
	"os"
	"runtime/debug"
)

// dedicatedGCPercent is the garbage collection target TuneProcess sets.
const dedicatedGCPercent = 800

// TuneProcess sets the Go runtime of a process whose only work is to
// forward tunnels, as "ssh -N" is such a process; the dbaas CLI's tunnel
// command calls it. A library, or a program that does other work beside
// its tunnels, should not: the setting is process-wide.
//
// x/crypto/ssh allocates a fresh buffer for every packet it reads, so a
// download spends much of its CPU collecting that garbage and faulting
// in again the memory the collector gave back. TuneProcess sets the
// collection target to 800 (as GOGC=800 would): the heap may grow to nine
// times what is live, a few megabytes for a tunnel with a handful of
// connections. bench/tunnel measures the effect (its tunnel and
// tunnel-lib paths). The setting is left alone when GOGC is set, so an
// operator keeps the last word.
//
// GOMAXPROCS is left as it is: one thread per SSH connection looked
// right, since each connection's packets pass through one reader
// goroutine, but in bench/tunnel it made pgbench slower (0.84×) and
// uploads and downloads no faster.
func TuneProcess() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(dedicatedGCPercent)
	}
}
