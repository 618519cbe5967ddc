package dump

import "bytes"

// pgLexer splits plain pg_dump and pg_dumpall output: standard strings,
// E” strings with backslash escapes, "quoted names", $tag$ dollar quotes,
// nested /* */ comments, psql meta-commands (a line starting with a
// backslash) and COPY … FROM stdin rows up to the "\." line.
type pgLexer struct {
	mode        int
	q           byte
	bs          bool
	depth       int    // nesting of /* */ comments
	tag         []byte // the open dollar quote, $ signs included
	p1, p2      byte   // the two bytes before the current chunk
	commentStmt bool
	copyNext    bool // the last statement was COPY … FROM stdin
	lineStart   bool // in COPY rows: at the start of a line
	special     [256]bool
}

func newPGLexer() *pgLexer {
	l := &pgLexer{}
	for _, c := range []byte("'\"$-/;") {
		l.special[c] = true
	}
	return l
}

func (l *pgLexer) begin(b []byte, eof bool) Kind {
	l.bs, l.commentStmt, l.depth, l.p1, l.p2 = false, false, 0, ' ', ' '
	if l.copyNext {
		l.copyNext = false
		l.mode, l.lineStart = modeCopy, true
		return KindData
	}
	switch {
	case isSpace(b[0]):
		l.mode = modeSpace
		return KindSpace
	case bytes.HasPrefix(b, []byte("--")):
		l.mode = modeLine
		return KindComment
	case b[0] == '\\':
		l.mode = modeLine
		return KindMeta
	case bytes.HasPrefix(b, []byte("/*")):
		// modeCode opens the comment; commentStmt ends the statement with it
		l.mode, l.commentStmt = modeCode, true
		return KindComment
	}
	l.mode = modeCode
	if hasWordPrefixFold(b, "insert") {
		return KindData
	}
	return KindStatement
}

func (l *pgLexer) open() string {
	switch l.mode {
	case modeQuote, modeEscQuote:
		return "string '"
	case modeIdent:
		return `quoted name "`
	case modeBlockComment:
		return "comment /*"
	case modeDollar:
		return "dollar-quoted string " + string(l.tag)
	case modeCopy:
		return `COPY data (no "\." line)`
	case modeLine, modeTail, modeSpace, modeLineComment:
		return ""
	}
	return "statement without ;"
}

func (l *pgLexer) prev(b []byte, i, back int) byte {
	switch j := i - back; {
	case j >= 0:
		return b[j]
	case j == -1:
		return l.p1
	}
	return l.p2
}

func (l *pgLexer) scan(b []byte, eof bool) (int, bool) {
	n, done := l.scan1(b, eof)
	// remember the bytes before the next chunk for E'' and $tag$ checks
	if n >= 2 {
		l.p2, l.p1 = b[n-2], b[n-1]
	} else if n == 1 {
		l.p2, l.p1 = l.p1, b[0]
	}
	return n, done
}

func (l *pgLexer) scan1(b []byte, eof bool) (int, bool) {
	i := 0
	for i < len(b) {
		switch l.mode {
		case modeSpace, modeLine, modeTail:
			return scanBoundary(l.mode, b, i, eof)
		case modeCopy:
			if l.lineStart {
				if len(b)-i < 4 && !eof {
					return i, false
				}
				if r := b[i:]; bytes.HasPrefix(r, []byte("\\.")) && (len(r) == 2 || r[2] == '\n' || r[2] == '\r') {
					l.mode = modeTail
					i += 2
					continue
				}
				l.lineStart = false
			}
			j := bytes.Index(b[i:], []byte("\n\\."))
			if j < 0 {
				if len(b)-i <= 2 {
					return i, false
				}
				n := len(b) - 2
				l.lineStart = false
				if b[n-1] == '\n' {
					l.lineStart = true
				}
				return n, false
			}
			i += j + 1
			l.lineStart = true
		case modeEscQuote:
			n, closed := scanEscString(b[i:], l.q, &l.bs)
			i += n
			if !closed {
				return i, false
			}
			l.mode = modeCode
		case modeQuote, modeIdent:
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
			for i < len(b) {
				if len(b)-i < 2 && !eof {
					return i, false
				}
				if bytes.HasPrefix(b[i:], []byte("*/")) {
					i += 2
					if l.depth--; l.depth == 0 {
						break
					}
					continue
				}
				if bytes.HasPrefix(b[i:], []byte("/*")) {
					i += 2
					l.depth++
					continue
				}
				i++
			}
			if l.depth > 0 {
				return i, false
			}
			if l.commentStmt {
				l.mode = modeTail
			} else {
				l.mode = modeCode
			}
		case modeDollar:
			j := bytes.Index(b[i:], l.tag)
			if j < 0 {
				return max(i, len(b)-len(l.tag)+1), false
			}
			i += j + len(l.tag)
			l.mode = modeCode
		case modeCode:
			i = skipPlain(b, i, &l.special)
			if i == len(b) {
				return i, false
			}
			switch c := b[i]; c {
			case ';':
				i++
				l.mode = modeTail
			case '\'':
				l.q, l.mode = c, modeQuote
				if p := l.prev(b, i, 1); (p == 'E' || p == 'e') && !isWordByte(l.prev(b, i, 2)) {
					l.mode, l.bs = modeEscQuote, false
				}
				i++
			case '"':
				l.q, l.mode = c, modeIdent
				i++
			case '-':
				if len(b)-i < 2 && !eof {
					return i, false
				}
				if len(b)-i >= 2 && b[i+1] == '-' {
					l.mode = modeLineComment
					i += 2
				} else {
					i++
				}
			case '/':
				if len(b)-i < 2 && !eof {
					return i, false
				}
				if len(b)-i >= 2 && b[i+1] == '*' {
					l.mode, l.depth = modeBlockComment, 1
					i += 2
				} else {
					i++
				}
			case '$':
				if isWordByte(l.prev(b, i, 1)) {
					i++
					continue
				}
				j := i + 1
				for j < len(b) && j-i < 66 && isWordByte(b[j]) && b[j] != '$' {
					j++
				}
				if j == len(b) && !eof {
					return i, false
				}
				if j < len(b) && b[j] == '$' && (j == i+1 || !(b[i+1] >= '0' && b[i+1] <= '9')) {
					l.tag = append(l.tag[:0], b[i:j+1]...)
					l.mode = modeDollar
					i = j + 1
				} else {
					i++
				}
			}
		}
	}
	return i, (l.mode == modeTail || l.mode == modeSpace) && eof
}

func (l *pgLexer) ended(k Kind, text []byte) {
	if k != KindStatement || !hasWordPrefixFold(text, "copy") {
		return
	}
	// pg_dump ends the statement with FROM stdin; others add WITH options
	var tk tokens
	tk.tokenize(text, true)
	for i := 1; i+1 < tk.n(); i++ {
		if tk.is(i, "FROM") && tk.is(i+1, "stdin") {
			l.copyNext = true
			return
		}
	}
}
