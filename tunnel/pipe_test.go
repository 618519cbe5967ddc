package tunnel

import (
	"bytes"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chunkConn is a source that returns its chunks one per Read, as an SSH
// channel returns the packets that have arrived, and records the size of
// every Write made to it.
type chunkConn struct {
	net.Conn
	chunks [][]byte
	writes []int
	out    bytes.Buffer
}

func (c *chunkConn) Read(b []byte) (int, error) {
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(b, c.chunks[0])
	if n == len(c.chunks[0]) {
		c.chunks = c.chunks[1:]
	} else {
		c.chunks[0] = c.chunks[0][n:]
	}
	return n, nil
}

func (c *chunkConn) Write(b []byte) (int, error) {
	c.writes = append(c.writes, len(b))
	return c.out.Write(b)
}

func chunks(sizes ...int) ([][]byte, []byte) {
	var all []byte
	var out [][]byte
	for i, n := range sizes {
		b := bytes.Repeat([]byte{byte('a' + i%26)}, n)
		out = append(out, b)
		all = append(all, b...)
	}
	return out, all
}

func repeat(n, size int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = size
	}
	return s
}

func TestCopyConnWrites(t *testing.T) {
	const packet = 32 * 1024 // an SSH data packet's payload
	tests := []struct {
		name  string
		reads []int
		// writes are the Write sizes wanted at the destination.
		writes []int
	}{
		{
			// Only the first packet is split, by the small idle buffer;
			// every later one goes through in one read and one write.
			name:   "download of whole SSH packets",
			reads:  repeat(8, packet),
			writes: append([]int{512, packet - 512}, repeat(7, packet)...),
		},
		{
			name:   "interactive messages stay on the small buffer",
			reads:  []int{64, 100, 300, 64},
			writes: []int{64, 100, 300, 64},
		},
		{
			// After a burst ends with a short read, the next message is
			// read with the small buffer again.
			name:   "burst then small messages",
			reads:  []int{packet, packet, 1000, 64, 64},
			writes: []int{512, packet - 512, packet, 1000, 64, 64},
		},
		{
			// The SSH channel hands over all queued packets in one read:
			// four of them become one write.
			name:   "queued packets go out in one write",
			reads:  []int{packet, 4 * packet, packet},
			writes: []int{512, packet - 512, 4 * packet, packet},
		},
		{
			name:   "a read of more than the pooled buffer is split at its size",
			reads:  []int{bigBuf + 4096},
			writes: []int{512, bigBuf, 4096 - 512},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, want := chunks(tt.reads...)
			src := &chunkConn{chunks: in}
			dst := &chunkConn{}
			var counter atomic.Int64
			require.NoError(t, copyConn(dst, src, &counter))
			assert.Equal(t, tt.writes, dst.writes)
			assert.Equal(t, want, dst.out.Bytes(), "bytes arrive whole and in order")
			assert.Equal(t, int64(len(want)), counter.Load())
		})
	}
}
