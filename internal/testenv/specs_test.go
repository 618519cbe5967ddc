package testenv

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSpecsPath(t *testing.T) {
	root := t.TempDir()
	repo := filepath.Join(root, "repo")
	pkg := filepath.Join(repo, "providers", "x")
	want := filepath.Join(root, "shared", "specs", "cloud", "api.yaml")
	require.NoError(t, os.MkdirAll(pkg, 0o755))
	require.NoError(t, os.MkdirAll(filepath.Dir(want), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(repo, "go.mod"), []byte("module x\n"), 0o644))
	require.NoError(t, os.WriteFile(want, nil, 0o644))

	tests := []struct {
		name    string
		start   string
		parts   []string
		want    string
		wantErr string
	}{
		{name: "file from a package folder", start: pkg, parts: []string{"cloud", "api.yaml"}, want: want},
		{name: "folder from the module root", start: repo, parts: []string{"cloud"}, want: filepath.Dir(want)},
		{name: "missing file", start: pkg, parts: []string{"cloud", "other.yaml"}, wantErr: "other.yaml not found"},
		{name: "no go.mod above", start: filepath.Join(root, "shared"), parts: []string{"cloud"}, wantErr: "go.mod not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := specsPath(tt.start, tt.parts...)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, filepath.Clean(tt.want), filepath.Clean(got))
		})
	}
}

// TestSpecsDirSkipsEvenInIntegration checks that a missing specs folder
// skips rather than fails when CI sets DBAAS_INTEGRATION=1.
func TestSpecsDirSkipsEvenInIntegration(t *testing.T) {
	t.Setenv("DBAAS_INTEGRATION", "1")
	var skipped bool
	t.Run("missing", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		SpecsDir(t, "no-such-cloud", "no-such-file")
		t.Error("SpecsDir returned for a missing path")
	})
	assert.True(t, skipped, "a missing specs path must skip the test")
}
