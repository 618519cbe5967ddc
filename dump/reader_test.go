package dump

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// readAll returns the statements of a dump read through a reader that
// hands out chunkSize bytes at a time (0: all at once).
func readAll(t *testing.T, dump string, engine dbaas.Engine, chunkSize int) ([]Statement, error) {
	t.Helper()
	return collect(dump, engine, chunkSize)
}

// collect reads every statement of dump, each with its whole text (head
// and Rest), through a reader that hands out chunk bytes at a time (0:
// all at once).
func collect(dump string, engine dbaas.Engine, chunk int) ([]Statement, error) {
	var src io.Reader = strings.NewReader(dump)
	if chunk > 0 {
		src = &chunkReader{r: src, n: chunk}
	}
	r, err := NewReader(src, engine)
	if err != nil {
		return nil, err
	}
	var out []Statement
	for {
		st, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		// Text is valid only until Rest: keep the head first
		text := bytes.NewBuffer(append([]byte(nil), st.Text...))
		if err := r.Rest(text); err != nil {
			return out, err
		}
		st.Text = text.Bytes()
		out = append(out, st)
	}
}

// chunkReader returns at most n bytes per Read, to cut tokens across
// buffer refills.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}

func texts(sts []Statement) []string {
	var s []string
	for _, st := range sts {
		if st.Kind != KindSpace {
			s = append(s, st.Kind.String()+":"+string(st.Text))
		}
	}
	return s
}

const myHeader = "-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n"
const myTrailer = "-- Dump completed on 2026-01-01 10:00:00\n"

func TestReaderMySQLStatements(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"executable comments", "/*!40101 SET NAMES utf8mb4 */;\n/*M!100616 SET NOTE_VERBOSITY=0 */;\n",
			[]string{"statement:/*!40101 SET NAMES utf8mb4 */;\n", "statement:/*M!100616 SET NOTE_VERBOSITY=0 */;\n"}},
		{"semicolon and comment markers in strings", "INSERT INTO `t` VALUES (1,'a;b -- c /* d','e\\';f',\"g\\\\\",'h'';');\nSELECT 1;\n",
			[]string{"data:INSERT INTO `t` VALUES (1,'a;b -- c /* d','e\\';f',\"g\\\\\",'h'';');\n", "statement:SELECT 1;\n"}},
		{"backtick names", "CREATE TABLE `a;b``c` (x int);\n", []string{"statement:CREATE TABLE `a;b``c` (x int);\n"}},
		{"comments", "-- one\n# two\n/* three; */\nSELECT 1 -- four;\n;\n",
			[]string{"comment:-- one\n", "comment:# two\n", "comment:/* three; */\n", "statement:SELECT 1 -- four;\n;\n"}},
		{"negative numbers are not comments", "INSERT INTO t VALUES (1,-2),(--3);\n", []string{"data:INSERT INTO t VALUES (1,-2),(--3);\n"}},
		{"delimiter", "DELIMITER ;;\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END ;;\nDELIMITER ;\nSELECT 3;\n",
			[]string{"meta:DELIMITER ;;\n", "statement:CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END ;;\n", "meta:DELIMITER ;\n", "statement:SELECT 3;\n"}},
		{"gtid over lines", "SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ 'a:1-5,\nb:1-9';\n",
			[]string{"statement:SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ 'a:1-5,\nb:1-9';\n"}},
		{"sandbox line", "/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump 10.19\nSELECT 1;\n",
			[]string{"meta:/*M!999999\\- enable the sandbox mode */ \n", "comment:-- MariaDB dump 10.19\n", "statement:SELECT 1;\n"}},
	}
	for _, tc := range tests {
		for _, chunk := range []int{0, 1, 3, 7} {
			in := tc.in
			if !strings.Contains(in, "dump 10.") {
				in = myHeader + in
			}
			sts, err := readAll(t, in+myTrailer, dbaas.MySQL, chunk)
			require.NoError(t, err, "%s chunk %d", tc.name, chunk)
			got := texts(sts)
			want := tc.want
			if !strings.Contains(tc.in, "dump 10.") {
				want = append([]string{"comment:" + myHeader}, want...)
			}
			want = append(want, "comment:"+myTrailer)
			assert.Equal(t, want, got, "%s chunk %d", tc.name, chunk)
		}
	}
}

const pgHeader = "--\n-- PostgreSQL database dump\n--\n\n"
const pgTrailer = "--\n-- PostgreSQL database dump complete\n--\n\n"

func TestReaderPostgresStatements(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"dollar quotes", "CREATE FUNCTION f() RETURNS int AS $_$ SELECT 1; $x$ $_$ LANGUAGE sql;\n",
			[]string{"statement:CREATE FUNCTION f() RETURNS int AS $_$ SELECT 1; $x$ $_$ LANGUAGE sql;\n"}},
		{"empty dollar tag and params", "SELECT $$a;b$$, $1;\n", []string{"statement:SELECT $$a;b$$, $1;\n"}},
		{"E strings and standard strings", "SELECT E'a\\';b', 'c\\', 'd'';e';\n", []string{"statement:SELECT E'a\\';b', 'c\\', 'd'';e';\n"}},
		{"quoted names", "CREATE TABLE \"a;\"\"b\" (x int);\n", []string{"statement:CREATE TABLE \"a;\"\"b\" (x int);\n"}},
		{"nested comments", "SELECT /* a /* b; */ c; */ 1;\n", []string{"statement:SELECT /* a /* b; */ c; */ 1;\n"}},
		{"meta commands", "\\connect -reuse-previous=on \"dbname='x'\"\n\\restrict abc\n", []string{"meta:\\connect -reuse-previous=on \"dbname='x'\"\n", "meta:\\restrict abc\n"}},
		{"copy rows", "COPY public.t (a, b) FROM stdin;\n1\ta;b\\\\.\n\\.x\t'\n\\.\n\nSELECT 1;\n",
			[]string{"statement:COPY public.t (a, b) FROM stdin;\n", "data:1\ta;b\\\\.\n\\.x\t'\n\\.\n", "statement:SELECT 1;\n"}},
		{"empty copy", "COPY public.t (a) FROM stdin;\n\\.\n", []string{"statement:COPY public.t (a) FROM stdin;\n", "data:\\.\n"}},
		{"copy with options", "COPY t (a) FROM STDIN WITH (FORMAT csv);\n\"x;\"\n\\.\n", []string{"statement:COPY t (a) FROM STDIN WITH (FORMAT csv);\n", "data:\"x;\"\n\\.\n"}},
		{"copy to stdout is no data block", "COPY t TO stdout;\nSELECT 1;\n", []string{"statement:COPY t TO stdout;\n", "statement:SELECT 1;\n"}},
	}
	for _, tc := range tests {
		for _, chunk := range []int{0, 1, 2, 5} {
			sts, err := readAll(t, pgHeader+tc.in+pgTrailer, "", chunk)
			require.NoError(t, err, "%s chunk %d", tc.name, chunk)
			got := texts(sts)
			want := append([]string{"comment:--\n", "comment:-- PostgreSQL database dump\n", "comment:--\n"}, tc.want...)
			want = append(want, "comment:--\n", "comment:-- PostgreSQL database dump complete\n", "comment:--\n")
			assert.Equal(t, want, got, "%s chunk %d", tc.name, chunk)
		}
	}
}

func TestReaderLineNumbers(t *testing.T) {
	in := myHeader + "\n\nSELECT 'a\nb';\nINSERT INTO t VALUES (1);\n" + myTrailer
	sts, err := readAll(t, in, "", 2)
	require.NoError(t, err)
	var lines []int
	for _, st := range sts {
		if st.Kind != KindSpace {
			lines = append(lines, st.Line)
		}
	}
	assert.Equal(t, []int{1, 4, 6, 7}, lines)
}

func TestReaderBadInput(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		engine dbaas.Engine
		kind   error
		line   int
		msg    string
	}{
		{"binary garbage", "\x7fELF\x02\x01\x01\x00\x00", "", ErrUnknownFormat, 1, "binary"},
		{"invalid utf8", "-- hello \xff\xfe\xfd garbage\n", dbaas.MySQL, ErrUnknownFormat, 1, "binary"},
		{"NUL after the header", myHeader + "SELECT 1;\n\x00\x01", "", ErrUnknownFormat, 3, "NUL"},
		{"unknown format", "hello world\n", "", ErrUnknownFormat, 1, "not the header"},
		{"control bytes", "\x7fELF\x02\x01\x01 and more", "", ErrUnknownFormat, 1, "control byte 0x7f"},
		{"empty", "", "", ErrUnknownFormat, 1, "empty"},
		{"engine disagrees", pgHeader, dbaas.MySQL, ErrUnknownFormat, 1, "header says"},
		{"unterminated string", myHeader + "SELECT 1;\nINSERT INTO t VALUES ('abc\n\n", "", ErrSyntax, 3, "string '"},
		{"unterminated copy", pgHeader + "COPY t (a) FROM stdin;\n1\n2\n", "", ErrSyntax, 6, "COPY data"},
		{"unterminated dollar", pgHeader + "SELECT $f$ x;\n", "", ErrSyntax, 5, "$f$"},
		{"truncated mysqldump", myHeader + "SELECT 1;\n", "", ErrTruncated, 3, "Dump completed"},
		{"truncated pg_dump", pgHeader + "SELECT 1;\n", "", ErrTruncated, 6, "database dump complete"},
		{"statement after the trailer", myHeader + myTrailer + "SELECT 1;\n", "", ErrTruncated, 4, "trailer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readAll(t, tc.in, tc.engine, 0)
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.kind)
			var de *Error
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tc.line, de.Line, err.Error())
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestReaderReadErrorMidStream(t *testing.T) {
	boom := errors.New("disk on fire")
	src := io.MultiReader(strings.NewReader(myHeader+strings.Repeat("SELECT 1;\n", 2000)), iotest.ErrReader(boom))
	r, err := NewReader(src, "")
	require.NoError(t, err)
	for err == nil {
		_, err = r.Next()
	}
	assert.ErrorIs(t, err, boom)
	var de *Error
	require.ErrorAs(t, err, &de)
	assert.Equal(t, 2002, de.Line)
}

func TestReaderGzip(t *testing.T) {
	in := pgHeader + "SELECT 1;\n" + pgTrailer
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	_, err := zw.Write([]byte(in))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	r, err := NewReader(&z, "")
	require.NoError(t, err)
	assert.Equal(t, FormatPgDump, r.Format())
	var got strings.Builder
	for {
		st, err := r.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		got.Write(st.Text)
	}
	assert.Equal(t, in, got.String())
}

// TestReaderGzipCut: a compressed dump cut short is truncated, whether
// the cut falls in the gzip header or in the data, even where the text
// read so far would pass.
func TestReaderGzipCut(t *testing.T) {
	in := pgHeader + strings.Repeat("SELECT 1;\n", 2000) + pgTrailer
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	_, err := zw.Write([]byte(in))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	for _, cut := range []int{5, z.Len() / 2, z.Len() - 4} {
		r, err := NewReader(bytes.NewReader(z.Bytes()[:cut]), "")
		for err == nil {
			_, err = r.Next()
		}
		require.ErrorIs(t, err, ErrTruncated, "cut at %d of %d", cut, z.Len())
		assert.Contains(t, err.Error(), "gzip stream ends")
	}
}

func TestReaderDetect(t *testing.T) {
	tests := []struct {
		head   string
		format Format
		engine dbaas.Engine
	}{
		{myHeader, FormatMySQLDump, dbaas.MySQL},
		{"-- MySQL dump 10.19  Distrib 10.11.6-MariaDB, for debian-linux-gnu (x86_64)\n", FormatMySQLDump, dbaas.MariaDB},
		{"/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB\n", FormatMariaDBDump, dbaas.MariaDB},
		{pgHeader, FormatPgDump, dbaas.Postgres},
		{"--\n-- PostgreSQL database cluster dump\n--\n", FormatPgDumpAll, dbaas.Postgres},
	}
	for _, tc := range tests {
		r, err := NewReader(strings.NewReader(tc.head), "")
		require.NoError(t, err)
		assert.Equal(t, tc.format, r.Format())
		assert.Equal(t, tc.engine, r.Engine())
	}
}

// TestReaderAnyBufferSize reads dumps longer than the header the Reader
// looks at, with buffers smaller than it, down to one byte: each size
// must give the statements the default buffer gives. A small buffer once
// made NewReader wait forever for a header that could not fit.
func TestReaderAnyBufferSize(t *testing.T) {
	var my, pg strings.Builder
	my.WriteString(myHeader)
	pg.WriteString(pgHeader)
	pg.WriteString("COPY public.t (a, b) FROM stdin;\n")
	for i := range 600 {
		fmt.Fprintf(&my, "INSERT INTO `t` VALUES (%d,'row; with \\' quote and $$ dollars');\n", i)
		fmt.Fprintf(&pg, "%d\trow; with ' quote and $$ dollars\\t\n", i)
	}
	my.WriteString("DELIMITER ;;\nCREATE PROCEDURE p() BEGIN SELECT 1; END;;\nDELIMITER ;\n" + myTrailer)
	pg.WriteString("\\.\nCREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\n" + pgTrailer)
	require.Greater(t, my.Len(), 16<<10)
	require.Greater(t, pg.Len(), 16<<10)

	for _, dump := range []string{my.String(), pg.String()} {
		want, err := collect(dump, "", 0)
		require.NoError(t, err)
		for _, size := range []int{1, 100, lookahead, minBuf, 2048, 5000} {
			t.Run(fmt.Sprintf("%s/buffer %d", want[0].Kind, size), func(t *testing.T) {
				old := sizes
				sizes.buf, sizes.head, sizes.dataHead = size, max(size/2, 1), max(size/4, 1)
				t.Cleanup(func() { sizes = old })
				for _, chunk := range []int{0, 7} {
					got, err := collect(dump, "", chunk)
					require.NoError(t, err)
					assert.Equal(t, texts(want), texts(got))
				}
			})
		}
	}
}
