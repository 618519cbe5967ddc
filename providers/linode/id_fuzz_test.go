package linode

import (
	"testing"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// FuzzParseID: any text is either a valid id that prints back the same,
// or an invalid-argument error that names the id field.
func FuzzParseID(f *testing.F) {
	for _, s := range []string{"postgresql/227300", "mysql/1", "227300", "postgresql/", "redis/3", "mysql/-1", "mysql/01", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := parseID("id", s)
		if err != nil {
			ve, ok := err.(*dbaas.Error)
			if !ok || ve.Kind != dbaas.ErrInvalidArgument || ve.Field != "id" {
				t.Fatalf("parseID(%q): %v", s, err)
			}
			return
		}
		if id.num <= 0 || (id.engine != enginePostgres && id.engine != engineMySQL) {
			t.Fatalf("parseID(%q) = %+v", s, id)
		}
		if back, err := parseID("id", id.String()); err != nil || back != id {
			t.Fatalf("parseID(%q) = %v does not round trip: %v, %v", s, id, back, err)
		}
	})
}
