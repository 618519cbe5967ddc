package dump

import (
	"os"

	"golang.org/x/sys/unix"
)

// pipeSize is the buffer asked for the pipes between the dump tool, this
// process and the loading client: at Linux's default 64 KiB, the three
// processes take turns at every 64 KiB, and each turn costs a context
// switch that a busy machine makes slow. 1 MiB is the largest an
// unprivileged process may ask for by default (fs.pipe-max-size).
const pipeSize = 1 << 20

// growPipe enlarges the pipe f is an end of, as far as the system
// allows; a pipe left at its size only costs speed.
func growPipe(f *os.File) {
	_, _ = unix.FcntlInt(f.Fd(), unix.F_SETPIPE_SZ, pipeSize)
}
