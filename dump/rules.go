package dump

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Severity says what a finding does to an import.
type Severity int

// The severities, least first.
const (
	// ChangesBehaviour: the statement imports but the result differs from
	// the source (a lost comment, another engine, another collation).
	ChangesBehaviour Severity = iota + 1
	// Fails: the statement fails on the target.
	Fails
)

// String returns "fails" or "changes-behaviour".
func (s Severity) String() string {
	switch s {
	case Fails:
		return "fails"
	case ChangesBehaviour:
		return "changes-behaviour"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// MarshalText writes the name, for JSON output.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Rule is one reason a dump fails, or behaves differently, on a target.
type Rule struct {
	ID string `json:"id"`
	// Dialect is "mysql" for mysqldump and mariadb-dump output, "postgres"
	// for pg_dump and pg_dumpall output.
	Dialect string `json:"dialect"`
	// Match says what the rule matches.
	Match string `json:"match"`
	// Reason says why it fails.
	Reason string `json:"reason"`
	// Targets says where it applies.
	Targets string `json:"targets"`
	// Severity is the usual severity; a finding may differ by target.
	Severity Severity `json:"severity"`
	// Fix says what Rewrite does, or is empty when there is no safe fix.
	Fix string `json:"fix,omitempty"`

	check func(c *checkCtx) []hit
}

// Finding is a statement a rule matched.
type Finding struct {
	Rule     string   `json:"rule"`
	Line     int      `json:"line"`
	Excerpt  string   `json:"excerpt"`
	Severity Severity `json:"severity"`
	Reason   string   `json:"reason"`
	// Fixable says whether Rewrite has a safe fix.
	Fixable bool `json:"fixable"`
	// Fixed says whether Rewrite applied the fix (always false from Scan).
	Fixed bool `json:"fixed"`
}

// String reads "line 12: fails: mysql-definer: reason (`excerpt`)".
func (f Finding) String() string {
	s := fmt.Sprintf("line %d: %s: %s: %s (%s)", f.Line, f.Severity, f.Rule, f.Reason, f.Excerpt)
	if f.Fixed {
		s += " [fixed]"
	} else if f.Fixable {
		s += " [fixable]"
	}
	return s
}

// edit replaces text[s:e] with repl.
type edit struct {
	s, e int
	repl string
}

// hit is one match of a rule in a statement.
type hit struct {
	s, e     int // byte range shown as the excerpt
	severity Severity
	reason   string // more precise than the rule's, or empty
	drop     bool   // the fix removes the whole statement
	edits    []edit // the fix edits these ranges
}

func (h hit) fixable() bool { return h.drop || len(h.edits) > 0 }

// checkCtx is what a rule sees of a statement.
type checkCtx struct {
	t    Target
	src  dbaas.Engine
	st   Statement
	tk   *tokens // nil unless st.Kind is KindStatement
	db   string  // MySQL: the database of the last USE
	seen map[string]bool
}

// once reports whether key is seen for the first time, to report a table
// or schema once rather than at every statement that touches it.
func (c *checkCtx) once(key string) bool {
	if c.seen[key] {
		return false
	}
	c.seen[key] = true
	return true
}

// whole is a hit on the whole statement.
func (c *checkCtx) whole(drop bool) hit { return hit{s: 0, e: len(c.st.Text), drop: drop} }

// tokHit is a hit on significant tokens i..j.
func (c *checkCtx) tokHit(i, j int) hit {
	s, e := c.tk.span(i, j)
	return hit{s: s, e: e}
}

// Rules returns the catalogue, MySQL rules first.
func Rules() []Rule {
	return slices.Clone(catalogue)
}

var catalogue = append(slices.Clone(mysqlRules), pgRules...)

// RulesJSON writes the catalogue as JSON, for documentation and tools.
func RulesJSON() ([]byte, error) { return json.MarshalIndent(catalogue, "", "  ") }

// excerpt returns text[s:e] on one line, shortened.
func excerpt(text []byte, s, e int) string {
	const max = 80
	b := text[s:e]
	cut := false
	if len(b) > max {
		b, cut = b[:max], true
	}
	out := strings.Join(strings.Fields(string(bytes.ToValidUTF8(b, []byte("?")))), " ")
	if cut {
		out += "…"
	}
	return out
}
