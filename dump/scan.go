package dump

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Report is what Scan found, or what Rewrite found and changed.
type Report struct {
	Format     Format       `json:"format"`
	Engine     dbaas.Engine `json:"engine"`
	Target     Target       `json:"target"`
	Statements int          `json:"statements"`
	Findings   []Finding    `json:"findings"`
}

// Failing returns the findings that make the import fail: severity Fails
// and not fixed.
func (r *Report) Failing() []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Severity == Fails && !f.Fixed {
			out = append(out, f)
		}
	}
	return out
}

// Fixed returns the number of findings Rewrite fixed.
func (r *Report) Fixed() int {
	n := 0
	for _, f := range r.Findings {
		if f.Fixed {
			n++
		}
	}
	return n
}

// Scan reads the whole dump and reports what will fail, or behave
// differently, on the target. It returns the findings so far with an
// error when the dump is malformed or truncated, or ctx is done.
func Scan(ctx context.Context, r *Reader, t Target) (*Report, error) {
	return process(ctx, r, t, nil, nil)
}

// Rewrite copies the dump to w with the safe fixes applied and reports
// every finding, marking those it fixed. Row data (INSERT and REPLACE
// statements, COPY rows) is copied byte for byte, whatever it contains.
// On error w holds a partial dump: write to a file with RewriteFile.
func Rewrite(ctx context.Context, w io.Writer, r *Reader, t Target) (*Report, error) {
	return rewrite(ctx, w, r, t, nil)
}

// rewrite is Rewrite that calls mark before it writes each statement that
// is not a comment or space, with the line the statement starts at in
// the output, so that a loader can map the output's lines back to the
// dump's.
func rewrite(ctx context.Context, w io.Writer, r *Reader, t Target, mark func(st Statement, outLine int)) (*Report, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	var out io.Writer = bw
	var lw *lineWriter
	if mark != nil {
		lw = &lineWriter{w: bw, line: 1}
		out = lw
		inner := mark
		mark = func(st Statement, _ int) { inner(st, lw.line) }
	}
	rep, err := process(ctx, r, t, out, mark)
	if err != nil {
		return rep, err
	}
	if err := bw.Flush(); err != nil {
		return rep, fmt.Errorf("dump: write: %w", err)
	}
	return rep, nil
}

// RewriteFile rewrites the dump into the file path. It writes a temporary
// file in the same directory and renames it over path only when the whole
// dump was read and written, so path never holds a partial dump. The file
// is created readable by its owner only: dumps hold password hashes.
//
// A path that is not a regular file (/dev/null, /dev/stdout, a named
// pipe) is written to as it is: renaming over it would replace a device.
func RewriteFile(ctx context.Context, path string, r *Reader, t Target) (rep *Report, err error) {
	if fi, serr := os.Stat(path); serr == nil && !fi.Mode().IsRegular() && !fi.IsDir() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("dump: open %s: %w", path, err)
		}
		rep, err = Rewrite(ctx, f, r, t)
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("dump: write %s: %w", path, cerr)
		}
		return rep, err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("dump: create %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if rep, err = Rewrite(ctx, f, r, t); err != nil {
		return rep, err
	}
	if err = f.Sync(); err != nil {
		return rep, fmt.Errorf("dump: write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return rep, fmt.Errorf("dump: write %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return rep, fmt.Errorf("dump: write %s: %w", path, err)
	}
	return rep, nil
}

// dataRules are the rules that read the head of row data; none of them
// may change it.
var dataRules = []string{"mysql-system-schema"}

// maxDataHead is how much of a data statement a rule sees: enough for
// INSERT INTO schema.table.
const maxDataHead = 256

func process(ctx context.Context, r *Reader, t Target, w io.Writer, mark func(Statement, int)) (*Report, error) {
	t, err := t.validate(r.Engine())
	if err != nil {
		return nil, err
	}
	rep := &Report{Format: r.Format(), Engine: r.Engine(), Target: t, Findings: []Finding{}}
	pg := r.Engine() == dbaas.Postgres
	c := &checkCtx{t: t, src: r.Engine(), seen: map[string]bool{}}
	var (
		tk    tokens
		edits []edit
		out   []byte
	)
	for {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("dump: stopped at line %d: %w", r.line, err)
		}
		st, err := r.Next()
		if err == io.EOF {
			return rep, nil
		}
		if err != nil {
			return rep, err
		}
		if st.Kind == KindSpace || st.Kind == KindComment {
			if w != nil {
				if err := write(w, st.Text); err != nil {
					return rep, err
				}
			}
			continue
		}
		rep.Statements++
		c.st, c.tk = st, nil
		rules := catalogue
		switch st.Kind {
		case KindStatement:
			tk.tokenize(st.Text, pg)
			c.tk = &tk
			if !pg && tk.is(0, "USE") {
				c.db = tk.name(1, false)
			}
		case KindData:
			rules = nil
			if !pg {
				tk.tokenize(st.Text[:min(len(st.Text), maxDataHead)], pg)
				c.tk = &tk
				rules = dataRuleSet
			}
		}
		drop := false
		edits = edits[:0]
		first := len(rep.Findings)
		for i := range rules {
			rule := &rules[i]
			for _, h := range rule.check(c) {
				f := Finding{Rule: rule.ID, Line: st.Line, Excerpt: excerpt(st.Text, h.s, h.e), Severity: rule.Severity, Reason: rule.Reason, Fixable: h.fixable()}
				if h.severity != 0 {
					f.Severity = h.severity
				}
				if h.reason != "" {
					f.Reason = h.reason
				}
				rep.Findings = append(rep.Findings, f)
				if st.Kind != KindData {
					drop = drop || h.drop
					edits = append(edits, h.edits...)
				}
			}
		}
		if drop {
			// the statement goes: whatever another rule found in it can
			// no longer fail, and another rule's edits are moot
			for i := first; i < len(rep.Findings); i++ {
				rep.Findings[i].Fixable = true
			}
		}
		if w == nil {
			continue
		}
		text := st.Text
		switch {
		case drop:
			text = nil
		case len(edits) > 0:
			out = applyEdits(out[:0], text, edits)
			text = out
		}
		for i := first; i < len(rep.Findings); i++ {
			rep.Findings[i].Fixed = rep.Findings[i].Fixable && st.Kind != KindData
		}
		if mark != nil && !drop {
			mark(st, 0)
		}
		if err := write(w, text); err != nil {
			return rep, err
		}
		rest := w
		if drop {
			rest = io.Discard
		}
		if err := r.Rest(rest); err != nil {
			return rep, wrapWrite(err)
		}
	}
}

var dataRuleSet = func() []Rule {
	var rs []Rule
	for _, r := range catalogue {
		if slices.Contains(dataRules, r.ID) {
			rs = append(rs, r)
		}
	}
	return rs
}()

func write(w io.Writer, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("dump: write: %w", err)
	}
	return nil
}

func wrapWrite(err error) error {
	var de *Error
	if errors.As(err, &de) {
		return err
	}
	return fmt.Errorf("dump: write: %w", err)
}

// applyEdits appends text with edits applied to dst. A replacement that
// overlaps an earlier edit is dropped.
func applyEdits(dst, text []byte, edits []edit) []byte {
	slices.SortStableFunc(edits, func(a, b edit) int { return a.s - b.s })
	pos := 0
	for _, e := range edits {
		if e.s < pos {
			// removals next to each other share the blanks between them
			if e.repl != "" || e.e <= pos {
				continue
			}
			e.s = pos
		}
		dst = append(dst, text[pos:e.s]...)
		dst = append(dst, e.repl...)
		pos = e.e
	}
	return append(dst, text[pos:]...)
}

// lineWriter counts the lines written through it.
type lineWriter struct {
	w    io.Writer
	line int // the line the next byte is on, 1-based
}

func (l *lineWriter) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	l.line += bytes.Count(p[:n], nl)
	return n, err
}
