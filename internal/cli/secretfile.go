package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// writeSecretFile writes s to path as a 0600 file, replacing what is
// there in one rename, so that a password reaches the toolkit without
// ever being on stdout or in a process's arguments.
func writeSecretFile(path string, s dbaas.Secret) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".dbaas-secret-*")
	if err != nil {
		return fmt.Errorf("password file %s: %w", path, err)
	}
	_, werr := tmp.WriteString(s.Reveal() + "\n")
	err = errors.Join(werr, tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("password file %s: %w", path, err)
	}
	return nil
}
