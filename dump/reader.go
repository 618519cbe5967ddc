package dump

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// sizes bound the memory a Reader uses whatever the size of the dump or
// of its longest statement: a statement longer than its head limit is
// returned as a head and the rest streams through the buffer in chunks.
// Tests shrink them to reach the chunk boundaries with small inputs.
var sizes = struct {
	buf      int
	head     int // DDL: long enough for any real CREATE TABLE
	dataHead int // data: enough to name the table, nothing more
}{4 << 20, 1 << 20, 64 << 10}

// lookahead is the bytes a lexer may need to classify a statement.
const lookahead = 512

// minBuf is the smallest buffer a Reader uses whatever sizes.buf says: it
// must hold a lookahead and the few bytes a lexer holds back at the end
// of a chunk (a dollar-quote tag, a delimiter), or the Reader could not
// make progress.
const minBuf = 2 * lookahead

// headerSize is how much of the dump detect reads to recognise its tool.
const headerSize = 8 << 10

// Kind says what a statement is.
type Kind int

// The kinds of statement a Reader returns.
const (
	// KindSpace is whitespace between statements.
	KindSpace Kind = iota
	// KindComment is a comment standing alone: "-- …", "# …", "/* … */".
	KindComment
	// KindStatement is SQL that is not row data: DDL, SET, GRANT, COPY …
	KindStatement
	// KindData is row data: an INSERT or REPLACE, or the rows of a COPY
	// block up to and including its "\." line. Rewrite never alters it.
	KindData
	// KindMeta is a client command: DELIMITER, a psql meta-command such as
	// \connect or \restrict, or the MariaDB sandbox line.
	KindMeta
)

var kindNames = [...]string{"space", "comment", "statement", "data", "meta"}

// String returns the kind's name.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Format is the tool that wrote a dump.
type Format string

// The formats a Reader recognises from the dump's header.
const (
	FormatMySQLDump   Format = "mysqldump"
	FormatMariaDBDump Format = "mariadb-dump"
	FormatPgDump      Format = "pg_dump"
	FormatPgDumpAll   Format = "pg_dumpall"
	// FormatPlain is SQL without a known header, read only when the engine
	// is given. It has no completion trailer, so truncation goes unnoticed.
	FormatPlain Format = "plain"
)

// trailer is the comment each tool writes last; a dump without it was cut
// short.
func (f Format) trailer() string {
	switch f {
	case FormatMySQLDump, FormatMariaDBDump:
		return "-- Dump completed"
	case FormatPgDump:
		return "-- PostgreSQL database dump complete"
	case FormatPgDumpAll:
		return "-- PostgreSQL database cluster dump complete"
	}
	return ""
}

// Errors a Reader returns; test with errors.Is.
var (
	// ErrTruncated: the dump ends before its tool's completion trailer.
	ErrTruncated = errors.New("dump is truncated")
	// ErrUnknownFormat: the input is not a dump this package reads.
	ErrUnknownFormat = errors.New("unknown dump format")
	// ErrSyntax: the dump breaks the lexical rules of its dialect, for
	// example a string or COPY block that never ends.
	ErrSyntax = errors.New("dump syntax error")
)

// Error is an error at a line of a dump.
type Error struct {
	Line int // 1-based line where the problem is
	Msg  string
	Kind error // ErrTruncated, ErrUnknownFormat, ErrSyntax or nil for a read error
	Err  error // underlying cause, such as a read error; may be nil
}

// Error reads "dump line N: message: cause".
func (e *Error) Error() string {
	s := fmt.Sprintf("dump line %d: %s", e.Line, e.Msg)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the kind and the cause so errors.Is finds both.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Statement is one statement of a dump.
type Statement struct {
	Kind Kind
	Line int // line of its first byte, 1-based
	// Text is the statement's bytes, terminator and trailing newline
	// included, or only its first bytes when Complete is false. It is valid
	// until the next call of Next or Rest.
	Text []byte
	// Complete is false when the statement is longer than the head the
	// Reader keeps; the rest follows through Reader.Rest.
	Complete bool
}

// lexer splits the bytes of one dialect into statements.
type lexer interface {
	// begin classifies the statement starting at b[0] and resets the
	// statement state. b holds at least lookahead bytes unless eof.
	begin(b []byte, eof bool) Kind
	// scan consumes bytes of the current statement from b and reports
	// whether it ended. Without eof it may hold back a few bytes it cannot
	// judge yet; the caller then supplies them again with more.
	scan(b []byte, eof bool) (n int, done bool)
	// open names the construct left open at the end of input, or "" when
	// the statement may end with the input.
	open() string
	// ended lets the lexer see a complete statement before the next one,
	// for DELIMITER and COPY … FROM stdin.
	ended(k Kind, text []byte)
}

// Reader reads a dump as a stream of statements. It reads gzip input
// transparently, needs a bounded amount of memory, and reports a dump cut
// short (missing its tool's trailer) as ErrTruncated at the end.
type Reader struct {
	src    io.Reader
	gz     *gzip.Reader
	buf    []byte
	pos    int // start of unconsumed bytes
	end    int // end of valid bytes
	eof    bool
	line   int // line number at buf[lineAt]
	lineAt int

	lx      lexer
	engine  dbaas.Engine
	format  Format
	partial bool // the current statement continues beyond its head
	curLine int
	curKind Kind

	trailerSeen bool
	done        bool
}

// NewReader returns a Reader of the dump r. The engine and tool are read
// from the dump's header; engine, when not empty, names the engine of a
// dump without a known header (and must agree with a header found).
func NewReader(r io.Reader, engine dbaas.Engine) (*Reader, error) {
	if engine != "" && !engine.Valid() {
		return nil, fmt.Errorf("dump: engine %q: want postgres, mysql or mariadb: %w", engine, dbaas.ErrInvalidArgument)
	}
	br := bufio.NewReaderSize(r, 64<<10)
	rd := &Reader{src: br, buf: make([]byte, max(sizes.buf, minBuf)), line: 1}
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return nil, &Error{Line: 1, Msg: "the gzip stream ends within its header", Err: err, Kind: ErrTruncated}
		} else if err != nil {
			return nil, &Error{Line: 1, Msg: "read gzip header", Err: err}
		}
		gz.Multistream(true)
		rd.gz = gz
		rd.src = gz
	}
	// the header may be longer than a small buffer: read what fits
	for rd.end < min(headerSize, len(rd.buf)) && !rd.eof {
		if err := rd.fill(); err != nil {
			return nil, err
		}
	}
	if err := rd.detect(engine); err != nil {
		return nil, err
	}
	return rd, nil
}

// Engine returns the engine the dump was taken from (for a mysqldump
// header that does not say, MySQL).
func (r *Reader) Engine() dbaas.Engine { return r.engine }

// Format returns the tool that wrote the dump.
func (r *Reader) Format() Format { return r.format }

// detect reads the tool and engine from the header.
func (r *Reader) detect(engine dbaas.Engine) error {
	head := r.buf[:r.end]
	if len(head) == 0 {
		return &Error{Line: 1, Msg: "empty input is not a dump", Kind: ErrUnknownFormat}
	}
	if i := bytes.IndexByte(head, 0); i >= 0 {
		return &Error{Line: 1 + bytes.Count(head[:i], nl), Msg: "binary data (NUL byte): not a SQL dump", Kind: ErrUnknownFormat}
	}
	// Only the header must be text: row data may hold any byte but NUL,
	// which every dump tool escapes.
	check, _, _ := bytes.Cut(head[:min(len(head), 1024)], nl)
	if len(check) == 1024 {
		check = check[:len(check)-utf8.UTFMax]
	}
	for _, c := range check {
		if c < ' ' && c != '\t' && c != '\r' && c != '\f' || c == 0x7f {
			return &Error{Line: 1, Msg: fmt.Sprintf("binary data (control byte %#02x in the first line): not a SQL dump", c), Kind: ErrUnknownFormat}
		}
	}
	if !utf8.Valid(check) {
		line := 1
		for i := 0; i < len(check); {
			c, size := utf8.DecodeRune(check[i:])
			if c == utf8.RuneError && size == 1 {
				break
			}
			if c == '\n' {
				line++
			}
			i += size
		}
		return &Error{Line: line, Msg: "binary data (invalid UTF-8 in the header): not a SQL dump", Kind: ErrUnknownFormat}
	}
	first := head
	if bytes.HasPrefix(first, sandboxPrefix) {
		if i := bytes.IndexByte(first, '\n'); i >= 0 {
			first = first[i+1:]
		}
	}
	switch {
	case bytes.HasPrefix(first, []byte("-- MariaDB dump ")):
		r.format, r.engine = FormatMariaDBDump, dbaas.MariaDB
	case bytes.HasPrefix(first, []byte("-- MySQL dump ")):
		r.format, r.engine = FormatMySQLDump, dbaas.MySQL
		if line, _, _ := bytes.Cut(first, nl); bytes.Contains(line, []byte("MariaDB")) {
			r.engine = dbaas.MariaDB
		}
	case bytes.HasPrefix(first, []byte("--\n-- PostgreSQL database dump\n")):
		r.format, r.engine = FormatPgDump, dbaas.Postgres
	case bytes.HasPrefix(first, []byte("--\n-- PostgreSQL database cluster dump\n")):
		r.format, r.engine = FormatPgDumpAll, dbaas.Postgres
	default:
		if engine == "" {
			line, _, _ := bytes.Cut(head, nl)
			return &Error{Line: 1, Msg: fmt.Sprintf("first line %q is not the header of mysqldump, mariadb-dump, pg_dump or pg_dumpall; give the engine to read plain SQL", clip(line, 60)), Kind: ErrUnknownFormat}
		}
		r.format, r.engine = FormatPlain, engine
	}
	if engine != "" && (engine == dbaas.Postgres) != (r.engine == dbaas.Postgres) {
		return &Error{Line: 1, Msg: fmt.Sprintf("the header says %s (%s) but engine %s was given", r.format, r.engine, engine), Kind: ErrUnknownFormat}
	}
	if engine != "" && r.format != FormatPlain && engine != r.engine && r.engine != dbaas.Postgres {
		// mysqldump headers do not always tell MySQL from MariaDB: trust the caller
		r.engine = engine
	}
	if r.engine == dbaas.Postgres {
		r.lx = newPGLexer()
	} else {
		r.lx = newMySQLLexer()
	}
	return nil
}

var nl = []byte{'\n'}

// fill moves the unconsumed bytes to the front of the buffer and reads
// more.
func (r *Reader) fill() error {
	if r.eof {
		return nil
	}
	if r.pos > 0 {
		r.lineOf(r.pos)
		n := copy(r.buf, r.buf[r.pos:r.end])
		r.pos, r.end, r.lineAt = 0, n, 0
	}
	if r.end == len(r.buf) {
		return nil
	}
	n, err := r.src.Read(r.buf[r.end:])
	r.end += n
	switch {
	case err == io.EOF:
		r.eof = true
	case err == io.ErrUnexpectedEOF && r.gz != nil:
		// the compressed stream is cut short: the dump is, whatever the
		// text so far says
		return &Error{Line: r.lineOf(r.end), Msg: "the gzip stream ends early", Err: err, Kind: ErrTruncated}
	case err != nil:
		return &Error{Line: r.lineOf(r.end), Msg: "read", Err: err}
	case n == 0:
		// a reader returning 0, nil must not spin us forever
		n, err = io.ReadAtLeast(r.src, r.buf[r.end:], 1)
		r.end += n
		if err == io.EOF {
			r.eof = true
		} else if err != nil {
			return &Error{Line: r.lineOf(r.end), Msg: "read", Err: err}
		}
	}
	return nil
}

// lineOf returns the line of buf[p], p not before the last p asked.
func (r *Reader) lineOf(p int) int {
	r.line += bytes.Count(r.buf[r.lineAt:p], nl)
	r.lineAt = p
	return r.line
}

// Next returns the next statement, or io.EOF after the last one. When the
// previous statement was not Complete and Rest was not called, its rest is
// skipped. At the end of a dump whose tool writes a completion trailer
// that never came, Next returns an error matching ErrTruncated.
func (r *Reader) Next() (Statement, error) {
	if r.done {
		return Statement{}, io.EOF
	}
	if r.partial {
		if err := r.Rest(io.Discard); err != nil {
			return Statement{}, err
		}
	}
	for r.end-r.pos < lookahead && !r.eof {
		if err := r.fill(); err != nil {
			return Statement{}, err
		}
	}
	if r.pos == r.end {
		r.done = true
		if t := r.format.trailer(); t != "" && !r.trailerSeen {
			return Statement{}, &Error{Line: r.lineOf(r.end), Msg: fmt.Sprintf("the dump ends without the %q trailer %s writes last", t, r.format), Kind: ErrTruncated}
		}
		if r.gz != nil {
			if err := r.gz.Close(); err != nil {
				return Statement{}, &Error{Line: r.lineOf(r.end), Msg: "gzip", Err: err}
			}
		}
		return Statement{}, io.EOF
	}
	k := r.lx.begin(r.buf[r.pos:r.end], r.eof)
	limit := sizes.head
	if k == KindData {
		limit = sizes.dataHead
	}
	r.curLine, r.curKind = r.lineOf(r.pos), k
	scanned := r.pos
	for {
		n, done := r.lx.scan(r.buf[scanned:r.end], r.eof)
		scanned += n
		if done {
			st := Statement{Kind: k, Line: r.curLine, Text: r.buf[r.pos:scanned], Complete: true}
			r.pos = scanned
			r.ended(st)
			return st, nil
		}
		if r.eof {
			return Statement{}, r.unterminated()
		}
		if scanned-r.pos >= limit || (r.pos == 0 && r.end == len(r.buf)) {
			st := Statement{Kind: k, Line: r.curLine, Text: r.buf[r.pos:scanned]}
			r.pos = scanned
			r.partial = true
			return st, nil
		}
		off := scanned - r.pos
		if err := r.fill(); err != nil {
			return Statement{}, err
		}
		scanned = r.pos + off
	}
}

// Rest copies the bytes of the current statement beyond its head to w, in
// chunks. It does nothing when the statement was Complete.
func (r *Reader) Rest(w io.Writer) error {
	if !r.partial {
		return nil
	}
	for {
		n, done := r.lx.scan(r.buf[r.pos:r.end], r.eof)
		if n > 0 {
			if _, err := w.Write(r.buf[r.pos : r.pos+n]); err != nil {
				return err
			}
			r.pos += n
		}
		if done {
			r.partial = false
			r.ended(Statement{Kind: r.curKind})
			return nil
		}
		if r.eof {
			return r.unterminated()
		}
		if err := r.fill(); err != nil {
			return err
		}
	}
}

func (r *Reader) unterminated() error {
	what := r.lx.open()
	if what == "" {
		what = "statement"
	}
	return &Error{Line: r.curLine, Msg: fmt.Sprintf("%s starting in this statement never ends (input ends at line %d)", what, r.lineOf(r.end)), Kind: ErrSyntax}
}

func (r *Reader) ended(st Statement) {
	r.lx.ended(st.Kind, st.Text)
	switch st.Kind {
	case KindComment:
		if t := r.format.trailer(); t != "" && bytes.HasPrefix(st.Text, []byte(t)) {
			r.trailerSeen = true
		}
	case KindStatement, KindData:
		r.trailerSeen = false
	}
}

// clip shortens b for messages.
func clip(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(bytes.ToValidUTF8(b, []byte("?")))
}
