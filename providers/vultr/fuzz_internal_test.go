package vultr

import (
	"strings"
	"testing"
	"time"
)

// FuzzParseBackupID checks that backup ids, which come back from users
// and scripts, never panic the parser, and that what it accepts is what
// backupID writes.
func FuzzParseBackupID(f *testing.F) {
	for _, s := range []string{"0d7b1bc1-5e4e-4c1e-9d4e-1f0f1b3a9c11@2026-03-04T05:06:07Z", "x@pitr", "@", "a@b@2026-03-04T05:06:07+02:00", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		db, at, ok := parseBackupID(id)
		if !ok {
			return
		}
		if db == "" || at.Location() != time.UTC {
			t.Fatalf("%q: accepted an empty database id or a zoned time", id)
		}
		if again, at2, ok := parseBackupID(backupID(db, at)); !ok || again != db || !at2.Equal(at) {
			t.Fatalf("%q: does not round trip", id)
		}
	})
}

// FuzzSourcesOf checks that whatever the API holds in trusted_ips reads
// as valid, distinct sources.
func FuzzSourcesOf(f *testing.F) {
	for _, s := range []string{"192.0.2.7", "198.51.100.0/24,10.0.0.1/8", "::ffff:10.0.0.1", "2001:db8::/32", "nonsense"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		seen := map[string]bool{}
		for _, s := range sourcesOf(strings.Split(list, ",")) {
			if err := s.Validate(); err != nil {
				t.Fatalf("%q: %v", list, err)
			}
			if seen[s.String()] {
				t.Fatalf("%q: %s twice", list, s)
			}
			seen[s.String()] = true
		}
	})
}
