package dump

import "bytes"

// tokKind is the kind of a token of a statement head.
type tokKind uint8

const (
	tkWord      tokKind = iota // keyword or bare name
	tkName                     // `quoted` or "quoted" name
	tkString                   // '…' string, E'…', $tag$…$tag$
	tkPunct                    // one byte of punctuation
	tkExecOpen                 // /*!NNNNN or /*M!NNNNNN
	tkExecClose                // the */ closing an executable comment
)

// tok is a token: its kind and its byte range in the statement text.
type tok struct {
	k    tokKind
	s, e int
}

// tokens holds a tokenized statement. Rules read DDL through it, so words
// inside strings, comments or quoted names never match a keyword.
type tokens struct {
	text []byte
	all  []tok
	sig  []int // indexes into all of the tokens that are not exec markers
}

// tokenize splits text (a statement that is not row data) into tokens.
func (t *tokens) tokenize(text []byte, pg bool) {
	t.text, t.all, t.sig = text, t.all[:0], t.sig[:0]
	inExec := false
	i := 0
	for i < len(text) {
		c := text[i]
		switch {
		case isSpace(c):
			i++
			continue
		case c == '-' && i+1 < len(text) && text[i+1] == '-' && (pg || i+2 >= len(text) || text[i+2] <= ' '),
			c == '#' && !pg:
			j := bytes.IndexByte(text[i:], '\n')
			if j < 0 {
				return
			}
			i += j + 1
			continue
		case c == '/' && i+1 < len(text) && text[i+1] == '*':
			if !pg && i+2 < len(text) && (text[i+2] == '!' || text[i+2] == 'M' && i+3 < len(text) && text[i+3] == '!') {
				j := i + 3
				if text[i+2] == 'M' {
					j++
				}
				for j < len(text) && text[j] >= '0' && text[j] <= '9' {
					j++
				}
				t.add(tkExecOpen, i, j)
				inExec = true
				i = j
				continue
			}
			depth, j := 1, i+2
			for j < len(text) && depth > 0 {
				switch {
				case bytes.HasPrefix(text[j:], []byte("*/")):
					depth--
					j += 2
				case pg && bytes.HasPrefix(text[j:], []byte("/*")):
					depth++
					j += 2
				default:
					j++
				}
			}
			i = j
			continue
		case c == '*' && inExec && i+1 < len(text) && text[i+1] == '/':
			t.add(tkExecClose, i, i+2)
			inExec = false
			i += 2
			continue
		case c == '\'' || c == '"' && !pg:
			esc := !pg || i > 0 && (text[i-1] == 'E' || text[i-1] == 'e')
			j := endQuote(text, i+1, c, esc)
			if esc && pg && len(t.all) > 0 && t.all[len(t.all)-1].e == i && text[i-1]|0x20 == 'e' {
				// E'…': fold the E into the string
				t.all = t.all[:len(t.all)-1]
				t.sig = t.sig[:len(t.sig)-1]
				t.add(tkString, i-1, j)
			} else {
				t.add(tkString, i, j)
			}
			i = j
			continue
		case c == '`' || c == '"':
			j := endQuote(text, i+1, c, false)
			t.add(tkName, i, j)
			i = j
			continue
		case pg && c == '$' && i+1 < len(text) && !(text[i+1] >= '0' && text[i+1] <= '9'):
			j := i + 1
			for j < len(text) && isWordByte(text[j]) && text[j] != '$' {
				j++
			}
			if j < len(text) && text[j] == '$' {
				tag := text[i : j+1]
				k := bytes.Index(text[j+1:], tag)
				end := len(text)
				if k >= 0 {
					end = j + 1 + k + len(tag)
				}
				t.add(tkString, i, end)
				i = end
				continue
			}
		case isWordByte(c):
			j := i + 1
			for j < len(text) && isWordByte(text[j]) {
				j++
			}
			t.add(tkWord, i, j)
			i = j
			continue
		}
		t.add(tkPunct, i, i+1)
		i++
	}
}

// endQuote returns the index after the quote closing a string that starts
// at i, or len(text).
func endQuote(text []byte, i int, q byte, esc bool) int {
	for i < len(text) {
		j := bytes.IndexByte(text[i:], q)
		if j < 0 {
			return len(text)
		}
		k := i + j
		if esc {
			n := 0
			for p := k - 1; p >= i && text[p] == '\\'; p-- {
				n++
			}
			if n%2 == 1 {
				i = k + 1
				continue
			}
		}
		return k + 1
	}
	return len(text)
}

func (t *tokens) add(k tokKind, s, e int) {
	if k != tkExecOpen && k != tkExecClose {
		t.sig = append(t.sig, len(t.all))
	}
	t.all = append(t.all, tok{k, s, e})
}

// n is the number of significant tokens.
func (t *tokens) n() int { return len(t.sig) }

// at returns significant token i.
func (t *tokens) at(i int) tok { return t.all[t.sig[i]] }

// bytes returns the text of significant token i.
func (t *tokens) bytes(i int) []byte { x := t.at(i); return t.text[x.s:x.e] }

// is reports whether significant token i is the bare word w (any case).
func (t *tokens) is(i int, w string) bool {
	if i < 0 || i >= len(t.sig) {
		return false
	}
	x := t.at(i)
	return x.k == tkWord && x.e-x.s == len(w) && bytes.EqualFold(t.text[x.s:x.e], []byte(w))
}

// punct reports whether significant token i is the punctuation c.
func (t *tokens) punct(i int, c byte) bool {
	if i < 0 || i >= len(t.sig) {
		return false
	}
	x := t.at(i)
	return x.k == tkPunct && t.text[x.s] == c
}

// find returns the first significant token from i on that is the word w,
// or -1.
func (t *tokens) find(i int, w string) int {
	for ; i < len(t.sig); i++ {
		if t.is(i, w) {
			return i
		}
	}
	return -1
}

// name returns significant token i as a name: a bare word lower-cased for
// PostgreSQL, a quoted name without its quotes, a string without quotes.
func (t *tokens) name(i int, pg bool) string {
	if i < 0 || i >= len(t.sig) {
		return ""
	}
	x := t.at(i)
	b := t.text[x.s:x.e]
	switch x.k {
	case tkWord:
		if pg {
			return string(bytes.ToLower(b))
		}
		return string(b)
	case tkName, tkString:
		if len(b) >= 2 {
			q := b[0]
			inner := b[1 : len(b)-1]
			return string(bytes.ReplaceAll(inner, []byte{q, q}, []byte{q}))
		}
	}
	return string(b)
}

// isName reports whether significant token i can be a name.
func (t *tokens) isName(i int) bool {
	if i < 0 || i >= len(t.sig) {
		return false
	}
	k := t.at(i).k
	return k == tkWord || k == tkName || k == tkString
}

// qualified reads a possibly dotted name starting at significant token i
// and returns its last part, its first part when dotted ("" otherwise) and
// the index after it.
func (t *tokens) qualified(i int, pg bool) (last, first string, next int) {
	if !t.isName(i) {
		return "", "", i
	}
	last = t.name(i, pg)
	next = i + 1
	for t.punct(next, '.') && t.isName(next+1) {
		if first == "" {
			first = last
		}
		last = t.name(next+1, pg)
		next += 2
	}
	return last, first, next
}

// span is the byte range of significant tokens i..j inclusive.
func (t *tokens) span(i, j int) (int, int) { return t.at(i).s, t.at(j).e }
