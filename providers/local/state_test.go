package local

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzStateFile feeds arbitrary bytes to the state reader: it returns a
// record that names its file's id and has an engine and a port, or a
// *CorruptStateError naming the file, and never panics.
func FuzzStateFile(f *testing.F) {
	f.Add([]byte(`{"id":"local-abc","name":"x","engine":"postgres","port":5432,"state":"running"}`))
	f.Add([]byte(`{"id":"local-abc","engine":"postgres"}`))
	f.Add([]byte(`{"id":"other","engine":"mariadb","port":1}`))
	f.Add([]byte(`{"id": "local-ab`))
	f.Add([]byte(`{"id":"local-abc","engine":"postgres","port":5432,"extra":1}`))
	f.Add([]byte(``))
	dir := f.TempDir()
	st := store{dir: dir}
	require.NoError(f, os.MkdirAll(st.instancesDir(), 0o700))
	f.Fuzz(func(t *testing.T, data []byte) {
		const id = "local-abc"
		require.NoError(t, os.WriteFile(st.recordPath(id), data, 0o600))
		r, err := st.readRecord(id)
		if err != nil {
			var ce *CorruptStateError
			require.True(t, errors.As(err, &ce), "error %v is not a CorruptStateError", err)
			assert.Equal(t, filepath.Join(dir, "instances", id+".json"), ce.Path)
			assert.Contains(t, err.Error(), ce.Path)
			return
		}
		assert.Equal(t, id, r.ID)
		assert.NotEmpty(t, r.Engine)
		assert.NotZero(t, r.Port)
	})
}

// FuzzHostPattern checks that every IPv4 network becomes an address and
// netmask MariaDB accepts, and that nothing panics.
func FuzzHostPattern(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "10.1.2.3/32", "2001:db8::/32", "::1/128", "0.0.0.0/0", "garbage"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cidr string) {
		got, err := hostPattern(cidr)
		if err != nil {
			return
		}
		assert.NotEmpty(t, got)
		assert.NotContains(t, got, "'")
	})
}
