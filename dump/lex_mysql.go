package dump

import (
	"bytes"
)

// sandboxPrefix starts the first line mariadb-dump writes since 10.5.25
// and 10.11.8; only the mariadb client understands it.
var sandboxPrefix = []byte(`/*M!999999\- enable the sandbox mode */`)

// Lexer modes shared by both dialects.
const (
	modeCode         = iota // SQL outside strings and comments
	modeQuote               // inside '…' or "…" (quote in l.q)
	modeEscQuote            // inside a string with backslash escapes
	modeIdent               // inside `…` or "…" without escapes
	modeLineComment         // inside -- … or # … up to the newline
	modeBlockComment        // inside /* … */
	modeDollar              // inside $tag$ … $tag$
	modeLine                // a statement that is one line: comment, meta
	modeCopy                // COPY … FROM stdin rows, up to "\." alone on a line
	modeTail                // after the terminator: trailing blanks and newline
	modeSpace               // whitespace between statements
)

// mysqlLexer splits mysqldump and mariadb-dump output: backslash escapes in
// strings, backticks, # and "-- " comments, /*! … */ executable comments
// whose content is SQL, and DELIMITER commands.
type mysqlLexer struct {
	mode   int
	q      byte
	bs     bool // the last byte of the previous chunk was an odd backslash run
	inExec bool // inside /*! … */ or /*M! … */
	// commentStmt: the statement is a plain /* … */ comment, which ends
	// with the comment
	commentStmt bool
	delim       []byte
	special     [256]bool
}

func newMySQLLexer() *mysqlLexer {
	l := &mysqlLexer{}
	l.setDelimiter([]byte(";"))
	return l
}

func (l *mysqlLexer) setDelimiter(d []byte) {
	l.delim = append(l.delim[:0], d...)
	l.special = [256]bool{}
	for _, c := range []byte("'\"`-#/*") {
		l.special[c] = true
	}
	l.special[d[0]] = true
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func (l *mysqlLexer) begin(b []byte, eof bool) Kind {
	l.bs, l.inExec, l.commentStmt = false, false, false
	switch {
	case isSpace(b[0]):
		l.mode = modeSpace
		return KindSpace
	case b[0] == '#' || bytes.HasPrefix(b, []byte("--")) && (len(b) == 2 || isSpace(b[2]) || b[2] < ' '):
		l.mode = modeLine
		return KindComment
	case bytes.HasPrefix(b, sandboxPrefix):
		l.mode = modeLine
		return KindMeta
	case bytes.HasPrefix(b, []byte("/*")) && !bytes.HasPrefix(b, []byte("/*!")) && !bytes.HasPrefix(b, []byte("/*M!")):
		// modeCode opens the comment; commentStmt ends the statement with it
		l.mode, l.commentStmt = modeCode, true
		return KindComment
	case hasWordPrefixFold(b, "delimiter") && len(b) > 9 && (b[9] == ' ' || b[9] == '\t'):
		l.mode = modeLine
		return KindMeta
	}
	l.mode = modeCode
	if hasWordPrefixFold(b, "insert") || hasWordPrefixFold(b, "replace") {
		return KindData
	}
	return KindStatement
}

func (l *mysqlLexer) open() string {
	switch l.mode {
	case modeQuote, modeEscQuote:
		return "string " + string(l.q)
	case modeIdent:
		return "quoted name `"
	case modeBlockComment:
		return "comment /*"
	case modeLine, modeTail, modeSpace, modeLineComment:
		return ""
	}
	if l.inExec {
		return "executable comment /*!"
	}
	return "statement without " + string(l.delim)
}

// scanBoundary scans the modes both dialects share, which end a
// statement or a piece between statements: blank space, a line comment or
// meta-command up to its newline, and the tail of a statement's line.
func scanBoundary(mode int, b []byte, i int, eof bool) (int, bool) {
	switch mode {
	case modeSpace:
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		if i < len(b) {
			return i, true
		}
		return i, eof
	case modeLine:
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return len(b), eof
		}
		return i + j + 1, true
	default: // modeTail
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r') {
			i++
		}
		if i < len(b) && b[i] == '\n' {
			return i + 1, true
		}
		if i < len(b) {
			return i, true
		}
		return i, eof
	}
}

// scan implements lexer. It jumps over runs of ordinary bytes with a
// lookup table and over string contents with bytes.IndexByte: data rows
// are most of a dump.
func (l *mysqlLexer) scan(b []byte, eof bool) (int, bool) {
	i := 0
	for i < len(b) {
		switch l.mode {
		case modeSpace, modeLine, modeTail:
			return scanBoundary(l.mode, b, i, eof)
		case modeEscQuote:
			n, closed := scanEscString(b[i:], l.q, &l.bs)
			i += n
			if !closed {
				return i, false
			}
			l.mode = modeCode
		case modeIdent:
			j := bytes.IndexByte(b[i:], l.q)
			if j < 0 {
				return len(b), false
			}
			i += j + 1
			l.mode = modeCode
		case modeLineComment:
			j := bytes.IndexByte(b[i:], '\n')
			if j < 0 {
				return len(b), false
			}
			i += j + 1
			l.mode = modeCode
		case modeBlockComment:
			j := bytes.Index(b[i:], []byte("*/"))
			if j < 0 {
				if eof {
					return len(b), false
				}
				return max(i, len(b)-1), false
			}
			i += j + 2
			if l.commentStmt {
				// a comment that began the statement is a statement of its own
				l.mode = modeTail
			} else {
				l.mode = modeCode
			}
		case modeCode:
			i = l.skipRows(b, i)
			if i == len(b) {
				return i, false
			}
			if l.mode != modeCode {
				continue
			}
			c := b[i]
			if c == l.delim[0] {
				if len(b)-i < len(l.delim) && !eof {
					return i, false
				}
				if bytes.HasPrefix(b[i:], l.delim) && !l.inExec {
					i += len(l.delim)
					l.mode = modeTail
					continue
				}
			}
			switch c {
			case '\'', '"':
				// most strings end in this chunk: find the end here rather
				// than through another round of the mode switch
				n, closed := scanEscString(b[i+1:], c, &l.bs)
				i += 1 + n
				if !closed {
					l.q, l.mode = c, modeEscQuote
				}
			case '`':
				l.q, l.mode = c, modeIdent
				i++
			case '#':
				l.mode = modeLineComment
				i++
			case '-':
				if len(b)-i < 3 && !eof {
					return i, false
				}
				if len(b)-i >= 2 && b[i+1] == '-' && (len(b)-i == 2 || b[i+2] <= ' ') {
					l.mode = modeLineComment
					i += 2
				} else {
					i++
				}
			case '/':
				if len(b)-i < 4 && !eof {
					return i, false
				}
				switch {
				case bytes.HasPrefix(b[i:], []byte("/*!")):
					l.inExec = true
					i += 3
				case bytes.HasPrefix(b[i:], []byte("/*M!")):
					l.inExec = true
					i += 4
				case bytes.HasPrefix(b[i:], []byte("/*")):
					l.mode = modeBlockComment
					i += 2
				default:
					i++
				}
			case '*':
				if len(b)-i < 2 && !eof {
					return i, false
				}
				if l.inExec && len(b)-i >= 2 && b[i+1] == '/' {
					l.inExec = false
					i += 2
				} else {
					i++
				}
			default: // '\n', or the delimiter's first byte without the rest
				i++
			}
		}
	}
	return i, l.mode == modeTail && eof || l.mode == modeSpace && eof
}

func (l *mysqlLexer) ended(k Kind, text []byte) {
	if k != KindMeta || !hasWordPrefixFold(text, "delimiter") {
		return
	}
	f := bytes.Fields(text[len("delimiter"):])
	if len(f) > 0 {
		l.setDelimiter(f[0])
	}
}

// scanEscString consumes a string body with backslash escapes up to and
// including the closing quote q. bs carries an unpaired backslash across
// chunks.
func scanEscString(b []byte, q byte, bs *bool) (int, bool) {
	i := 0
	if *bs && len(b) > 0 {
		// the first byte is escaped
		i = 1
		*bs = false
	}
	for {
		j := bytes.IndexByte(b[i:], q)
		if j < 0 {
			// remember whether the chunk ends in an odd run of backslashes
			n := 0
			for k := len(b) - 1; k >= i && b[k] == '\\'; k-- {
				n++
			}
			*bs = n%2 == 1
			return len(b), false
		}
		k := i + j
		n := 0
		for p := k - 1; p >= i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 1 {
			i = k + 1
			continue
		}
		return k + 1, true
	}
}

// hasWordPrefixFold reports whether b starts with the ASCII word w in any
// case, followed by a non-word byte or the end.
func hasWordPrefixFold(b []byte, w string) bool {
	if len(b) < len(w) {
		return false
	}
	for i := 0; i < len(w); i++ {
		if b[i]|0x20 != w[i] {
			return false
		}
	}
	return len(b) == len(w) || !isWordByte(b[len(w)])
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c >= 0x80
}

// skipPlain returns the index of the first byte from i on that is special,
// or len(b). It is the lexers' hot loop over the code between strings,
// unrolled because most of it is digits and commas of row data.
func skipPlain(b []byte, i int, sp *[256]bool) int {
	for i+4 <= len(b) {
		if sp[b[i]] {
			return i
		}
		if sp[b[i+1]] {
			return i + 1
		}
		if sp[b[i+2]] {
			return i + 2
		}
		if sp[b[i+3]] {
			return i + 3
		}
		i += 4
	}
	for i < len(b) && !sp[b[i]] {
		i++
	}
	return i
}

// skipRows skips code and single-quoted strings, the whole of row data,
// in one loop; it stops at any other special byte, at the end of b, or in
// a string the chunk does not close (then in modeEscQuote).
func (l *mysqlLexer) skipRows(b []byte, i int) int {
	for {
		i = skipPlain(b, i, &l.special)
		if i == len(b) || b[i] != '\'' || l.delim[0] == '\'' {
			return i
		}
		start := i + 1
		j := start
		for {
			k := bytes.IndexByte(b[j:], '\'')
			if k < 0 {
				n, _ := scanEscString(b[j:], '\'', &l.bs)
				l.q, l.mode = '\'', modeEscQuote
				return j + n
			}
			k += j
			n := 0
			for p := k - 1; p >= start && b[p] == '\\'; p-- {
				n++
			}
			if n%2 == 0 {
				i = k + 1
				break
			}
			j = k + 1
		}
	}
}
