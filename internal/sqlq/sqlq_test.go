package sqlq

import "testing"

func TestQuoting(t *testing.T) {
	for _, c := range []struct{ name, got, want string }{
		{"PGIdent", PGIdent(`a"b`), `"a""b"`},
		{"PGString", PGString(`it's \n`), `'it''s \n'`},
		{"MyIdent", MyIdent("a`b"), "`a``b`"},
		{"MyString", MyString(`it's \`), `'it''s \\'`},
	} {
		if c.got != c.want {
			t.Errorf("%s = %s, want %s", c.name, c.got, c.want)
		}
	}
}
