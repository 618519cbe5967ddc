package dump

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// LoadReport is what Load did.
type LoadReport struct {
	// Rewrite is what the target's rules found in the dump and fixed.
	Rewrite *Report `json:"rewrite"`
	// Bytes is how much of the dump was read.
	Bytes int64 `json:"bytes"`
	// Tables names the tables whose rows were sent to the server in full,
	// in dump order. After a failure, see Committed.
	Tables []string `json:"tables"`
	// Committed says the load finished and the server kept it. When false
	// after a PostgreSQL load, nothing was kept: psql loads in one
	// transaction. After a failed MySQL load, the server kept every
	// statement before the failing one (MySQL commits DDL as it goes):
	// Tables then lists the tables it holds in full.
	Committed bool `json:"committed"`
}

// Progress is how far a load has gone.
type Progress struct {
	Bytes  int64 // read from the dump
	Tables int   // tables whose rows have been sent in full
}

// LoadOption tunes Load.
type LoadOption func(*loadConfig)

type loadConfig struct {
	progress func(Progress)
}

// WithProgress has Load call f as it goes (at each read of the dump, and
// once at the end; f must return quickly, and is called from one
// goroutine at a time).
func WithProgress(f func(Progress)) LoadOption {
	return func(c *loadConfig) { c.progress = f }
}

// LoadError is a statement the server refused.
type LoadError struct {
	// Line is the line of the dump where the failing statement starts; 0
	// when the server's message names none.
	Line int
	// Message is the server's message, as the client program printed it.
	Message string
	// Finding is what a rule knows about that statement that its fix
	// could not cure, or empty.
	Finding string
}

func (e *LoadError) Error() string {
	s := "the server refused the statement at dump line " + strconv.Itoa(e.Line) + ": " + e.Message
	if e.Line == 0 {
		s = "the server refused a statement: " + e.Message
	}
	if e.Finding != "" {
		s += " (known: " + e.Finding + ")"
	}
	return s
}

// Load streams the dump r into conn's database: through Rewrite with the
// target's rules, into psql (ON_ERROR_STOP, one transaction: all or
// nothing) or mariadb (which stops at the first error). A statement the
// server refuses ends the load with a *LoadError naming its line in r and
// the server's message. A dump cut short (ErrTruncated) or a cancelled
// ctx stops the client before it can commit what it has.
//
// The load runs as conn.User: give an application user's
// ConnectionInfo to load with its privileges only. For PostgreSQL, set
// t.Roles to the roles that exist on the target (with such a user, to
// that user alone) so that OWNER TO and GRANT naming others are dropped
// and the objects stay the user's.
//
// The report is returned with the error too: it says what was sent.
func Load(ctx context.Context, conn *dbaas.ConnectionInfo, r io.Reader, t Target, opts ...LoadOption) (*LoadReport, error) {
	var cfg loadConfig
	for _, o := range opts {
		o(&cfg)
	}
	if conn == nil {
		return nil, fmt.Errorf("dump load: connection info is nil: %w", dbaas.ErrInvalidArgument)
	}
	rep := &LoadReport{Tables: []string{}}
	var sent atomic.Int32 // tables sent in full
	counted := &countingReader{r: r}
	if cfg.progress != nil {
		// at every read, so that one long COPY or INSERT shows progress too
		counted.onRead = func(n int64) { cfg.progress(Progress{Bytes: n, Tables: int(sent.Load())}) }
	}
	rd, err := NewReader(counted, conn.Engine)
	if err != nil {
		return rep, fmt.Errorf("dump load: %w", err)
	}
	if _, err := t.validate(rd.Engine()); err != nil {
		return rep, fmt.Errorf("dump load: %w", err)
	}
	setup, err := setupClient(conn)
	if err != nil {
		return rep, fmt.Errorf("dump load: %w", err)
	}
	defer setup.dir.remove()
	var tool string
	var args []string
	if conn.Engine == dbaas.Postgres {
		// psql reads older and newer servers' dumps alike: take the newest
		tools := pgTools(ctx, "psql")
		if len(tools) == 0 {
			return rep, fmt.Errorf("dump load %s: psql is not installed (Debian: apt-get install postgresql-client): %w", conn.Endpoint, ErrNoClient)
		}
		tool = tools[len(tools)-1].path
		args = []string{"--no-psqlrc", "--quiet", "--no-password", "--set=ON_ERROR_STOP=1", "--single-transaction", "--file=-"}
	} else {
		if tool, err = mysqlTool("mariadb", "mysql"); err != nil {
			return rep, fmt.Errorf("dump load %s: %w", conn.Endpoint, err)
		}
		args = []string{"--binary-mode", "--batch", "--default-character-set=utf8mb4", "--", conn.Database}
	}
	// the client must not see the end of its input before the dump was
	// read in full, or it would commit a partial one: it is killed first
	cctx, kill := context.WithCancel(ctx)
	defer kill()
	cmd := setup.command(cctx, tool, args...)
	pr, stdin, err := Pipe()
	if err != nil {
		return rep, fmt.Errorf("dump load %s: %w", conn.Endpoint, err)
	}
	cmd.Stdin = pr
	cmd.Stdout = io.Discard
	var tail stderrTail
	cmd.Stderr = &tail
	err = cmd.Start()
	// the client holds its own copy of the read end
	_ = pr.Close()
	if err != nil {
		_ = stdin.Close()
		return rep, fmt.Errorf("dump load %s: start %s: %w", conn.Endpoint, toolName(tool), err)
	}

	tr := &tableTracker{pg: conn.Engine == dbaas.Postgres}
	var lines lineMap
	mark := func(st Statement, outLine int) {
		lines.add(outLine, st.Line)
		if tr.statement(st) {
			sent.Store(int32(len(tr.done)))
		}
	}
	var (
		wrep *Report
		werr error
		wg   sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		wrep, werr = rewrite(cctx, stdin, rd, t, mark)
		if werr != nil {
			kill()
		}
		_ = stdin.Close()
	}()
	wg.Wait()
	runErr := cmd.Wait()
	rep.Rewrite, rep.Bytes = wrep, counted.n.Load()
	if runErr == nil && werr == nil {
		tr.finish()
		rep.Tables = append(rep.Tables, tr.done...)
		rep.Committed = true
		if cfg.progress != nil {
			cfg.progress(Progress{Bytes: rep.Bytes, Tables: len(rep.Tables)})
		}
		return rep, nil
	}
	// the server's refusal explains a broken pipe; a bad dump or a
	// cancelled ctx explains a killed client
	if le := parseLoadError(conn.Engine, tail.raw()); le != nil && !errors.Is(werr, ErrTruncated) && ctx.Err() == nil {
		if le.Line > 0 {
			le.Line = lines.input(le.Line)
			le.Finding = failingAt(wrep, le.Line)
			if !tr.pg {
				rep.Tables = append(rep.Tables, tr.before(le.Line)...)
			}
		}
		return rep, fmt.Errorf("dump load %s: %w", conn.Endpoint, le)
	}
	if !tr.pg {
		// what was sent may or may not have run: only the finished
		// tables before the last statement sent are sure
		rep.Tables = append(rep.Tables, tr.done...)
	}
	var de *Error
	switch {
	case ctx.Err() != nil:
		return rep, fmt.Errorf("dump load %s: %w", conn.Endpoint, ctx.Err())
	case errors.As(werr, &de), runErr == nil:
		return rep, fmt.Errorf("dump load %s: %w", conn.Endpoint, werr)
	}
	return rep, fmt.Errorf("dump load %s: %s: %w", conn.Endpoint, toolName(tool), toolError(runErr, &tail))
}

// failingAt returns the unfixed failing finding at line, if any.
func failingAt(rep *Report, line int) string {
	if rep == nil {
		return ""
	}
	for _, f := range rep.Failing() {
		if f.Line == line {
			return f.Rule + ": " + f.Reason
		}
	}
	return ""
}

var (
	psqlErrorRE  = regexp.MustCompile(`(?m)psql:[^:\n]*:(\d+): (?:ERROR|FATAL): +(.*)$`)
	mysqlErrorRE = regexp.MustCompile(`(?m)ERROR (\d+ \([0-9A-Z]+\)) at line (\d+): (.*)$`)
)

// parseLoadError reads the client's report of a refused statement; the
// line is the client's, in the rewritten stream.
func parseLoadError(engine dbaas.Engine, stderr string) *LoadError {
	if engine == dbaas.Postgres {
		if m := psqlErrorRE.FindStringSubmatch(stderr); m != nil {
			n, _ := strconv.Atoi(m[1])
			return &LoadError{Line: n, Message: "ERROR: " + m[2]}
		}
		return nil
	}
	if m := mysqlErrorRE.FindStringSubmatch(stderr); m != nil {
		n, _ := strconv.Atoi(m[2])
		return &LoadError{Line: n, Message: "ERROR " + m[1] + ": " + m[3]}
	}
	return nil
}

// lineMap maps the lines of the rewritten stream back to the dump's,
// for the statements still in flight: the client lags behind by the
// pipe's buffers, far fewer than the statements kept.
type lineMap struct {
	marks [1 << 14]struct{ out, in int }
	n     int
}

func (m *lineMap) add(out, in int) {
	m.marks[m.n%len(m.marks)] = struct{ out, in int }{out, in}
	m.n++
}

// input returns the dump line of the statement holding output line out.
func (m *lineMap) input(out int) int {
	best := 0
	for i := max(0, m.n-len(m.marks)); i < m.n; i++ {
		mk := m.marks[i%len(m.marks)]
		if mk.out <= out {
			best = mk.in
		}
	}
	if best == 0 {
		return out
	}
	return best
}

// tableTracker follows which table's rows the dump is sending.
type tableTracker struct {
	pg       bool
	cur      string // the table whose rows are being sent
	curEnd   int    // the line where its last data statement started
	copyName string // PostgreSQL: the table of the last COPY statement
	done     []string
	ends     []int // the dump line each table in done ended at
}

var (
	copyRE   = regexp.MustCompile(`(?i)^COPY\s+((?:"(?:[^"]|"")+"|[^\s(."]+)(?:\.(?:"(?:[^"]|"")+"|[^\s(."]+))?)`)
	insertRE = regexp.MustCompile("(?i)^(?:INSERT|REPLACE)\\s+(?:(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY|IGNORE)\\s+)*INTO\\s+((?:`(?:[^`]|``)+`|[^\\s(.`]+)(?:\\.(?:`(?:[^`]|``)+`|[^\\s(.`]+))?)")
)

// statement notes a statement about to be sent and reports whether a
// table's rows were then complete.
func (t *tableTracker) statement(st Statement) bool {
	name := ""
	switch {
	case st.Kind == KindData && t.pg:
		name = t.copyName
		if name == "" {
			if m := insertRE.FindSubmatch(st.Text); m != nil {
				name = string(m[1])
			}
		}
	case st.Kind == KindData:
		if m := insertRE.FindSubmatch(st.Text); m != nil {
			name = string(m[1])
		}
	case st.Kind == KindStatement && t.pg:
		t.copyName = ""
		if m := copyRE.FindSubmatch(st.Text); m != nil {
			t.copyName = string(m[1])
		}
	}
	if name == t.cur && name != "" {
		t.curEnd = st.Line
		return false
	}
	ended := t.finish()
	t.cur, t.curEnd = name, st.Line
	return ended
}

// finish closes the current table's rows, reporting whether there was one.
func (t *tableTracker) finish() bool {
	if t.cur == "" {
		return false
	}
	t.done = append(t.done, t.cur)
	t.ends = append(t.ends, t.curEnd)
	t.cur = ""
	return true
}

// before returns the tables whose rows were all in statements before line.
func (t *tableTracker) before(line int) []string {
	var out []string
	for i, n := range t.done {
		if t.ends[i] < line {
			out = append(out, n)
		}
	}
	return out
}

// countingReader counts the bytes read through it and tells onRead.
type countingReader struct {
	r      io.Reader
	n      atomic.Int64
	onRead func(total int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	total := c.n.Add(int64(n))
	if c.onRead != nil && n > 0 {
		c.onRead(total)
	}
	return n, err
}
