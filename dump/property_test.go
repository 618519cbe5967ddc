package dump

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRewriteNeverChangesData rewrites random dumps whose rows hold what
// the rules look for, read in random chunk sizes, and checks that every
// data statement comes out byte for byte.
func TestRewriteNeverChangesData(t *testing.T) {
	for _, small := range []bool{false, true} {
		t.Run(map[bool]string{false: "default buffers", true: "small buffers"}[small], func(t *testing.T) {
			if small {
				smallBuffers(t)
			}
			rewriteRandomDumps(t)
		})
	}
}

func rewriteRandomDumps(t *testing.T) {
	for seed := uint64(0); seed < 150; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		pg := seed%2 == 1
		dump := randomDump(rng, pg)
		target := Target{Provider: "aws", Version: "16"}
		if !pg {
			target.Version = "10.11"
			target.Engine = "mariadb"
		}
		r, err := NewReader(&chunkReader{r: strings.NewReader(dump), n: 1 + rng.IntN(64)}, "")
		require.NoError(t, err)
		var out bytes.Buffer
		rep, err := Rewrite(context.Background(), &out, r, target)
		require.NoError(t, err, "seed %d:\n%s", seed, dump)
		in := dataLines(t, []byte(dump))
		assert.NotEmpty(t, in)
		require.Equal(t, in, dataLines(t, out.Bytes()), "seed %d", seed)
		// and every fix took: the output has nothing left to fix
		r, err = NewReader(&out, "")
		require.NoError(t, err)
		again, err := Scan(context.Background(), r, target)
		require.NoError(t, err)
		for _, f := range again.Findings {
			assert.False(t, f.Fixable, "seed %d: %v left after %d fixes", seed, f, rep.Fixed())
		}
	}
}

func TestHugeStatementsStreamInBoundedMemory(t *testing.T) {
	const size = 64 << 20
	tests := []struct {
		name string
		head string
		body func(w io.Writer)
		tail string
	}{
		{"one 64 MiB INSERT with one value", myHeader + "INSERT INTO `t` VALUES (1,'", func(w io.Writer) {
			chunk := bytes.Repeat([]byte(`DEFINER=\'x\'@y; OWNER TO doadmin \\ `), 1<<10)
			for n := 0; n < size; n += len(chunk) {
				_, _ = w.Write(chunk)
			}
		}, "');\n" + myTrailer},
		{"one 64 MiB INSERT of small rows", myHeader + "INSERT INTO `t` VALUES ", func(w io.Writer) {
			chunk := []byte(strings.Repeat("(1,'a;b',-2,\"c\\\"d\"),", 1<<12))
			for n := 0; n < size; n += len(chunk) {
				_, _ = w.Write(chunk)
			}
		}, "(0,'end');\n" + myTrailer},
		{"one 64 MiB COPY row", pgHeader + "COPY public.t (s) FROM stdin;\n", func(w io.Writer) {
			chunk := bytes.Repeat([]byte(`OWNER TO doadmin;\\.\\n`), 1<<10)
			for n := 0; n < size; n += len(chunk) {
				_, _ = w.Write(chunk)
			}
		}, "\n\\.\n" + pgTrailer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pr, pw := io.Pipe()
			inHash := sha256.New()
			go func() {
				w := io.MultiWriter(pw, inHash)
				_, _ = io.WriteString(w, tc.head)
				tc.body(w)
				_, _ = io.WriteString(w, tc.tail)
				_ = pw.Close()
			}()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			r, err := NewReader(pr, "")
			require.NoError(t, err)
			outHash := sha256.New()
			rep, err := Rewrite(context.Background(), outHash, r, Target{Provider: "aws"})
			require.NoError(t, err)
			runtime.ReadMemStats(&after)
			assert.Equal(t, inHash.Sum(nil), outHash.Sum(nil), "passed through unchanged")
			assert.Empty(t, rep.Findings)
			// everything the Rewrite allocated, not just what is live: a
			// statement buffered whole would take 64 MiB
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(16<<20))
		})
	}
}

func TestRewriteStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(t.TempDir(), "fixed.sql")
	r, err := NewReader(newBigDump(false, 8<<20), "")
	require.NoError(t, err)
	_, err = RewriteFile(ctx, out, r, Target{Provider: "aws"})
	require.ErrorIs(t, err, context.Canceled)
	assert.NoFileExists(t, out)
	entries, err := os.ReadDir(filepath.Dir(out))
	require.NoError(t, err)
	assert.Empty(t, entries, "the temporary file is removed")
}
