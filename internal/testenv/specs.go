package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// SpecsDir returns the path of parts inside the shared API specs and
// recordings, which live in ../shared/specs beside the repository (found
// by walking up from the working directory to the one holding go.mod).
// When that path does not exist it skips the test with a message naming
// it, even under DBAAS_INTEGRATION=1: the specs are not part of the
// repository, so a checkout without them cannot run the check.
func SpecsDir(t testing.TB, parts ...string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("working directory: %v", err)
	}
	p, err := specsPath(wd, parts...)
	if err != nil {
		t.Skipf("skipping the check against the shared specs: %v", err)
	}
	return p
}

// specsPath is SpecsDir from the directory start.
func specsPath(start string, parts ...string) (string, error) {
	dir := start
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above " + start + ": cannot locate ../shared/specs")
		}
		dir = parent
	}
	p := filepath.Join(append([]string{dir, "..", "shared", "specs"}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s not found (the shared specs folder beside the repository)", p)
	}
	return p, nil
}
