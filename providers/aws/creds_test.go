package aws_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// isolate gives the test a machine without AWS configuration: HOME is an
// empty directory, no AWS_* variable is set but the one keeping the
// credential chain off the instance metadata service and the names of
// the shared files, in that directory and absent (the SDK fixes its
// default names from HOME when the program starts).
func isolate(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, kv := range os.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "AWS_") {
			t.Setenv(name, value) // restored when the test ends
			require.NoError(t, os.Unsetenv(name))
		}
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, ".aws", "credentials"))
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, ".aws", "config"))
	return home
}

// captureStderr runs f with os.Stderr going to a pipe and returns what
// was written to it.
func captureStderr(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	saved := os.Stderr
	os.Stderr = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	defer func() { os.Stderr = saved }()
	f()
	require.NoError(t, w.Close())
	out := <-done
	require.NoError(t, r.Close())
	return out
}

func TestOpenWithoutCredentialsSaysSoAtOnce(t *testing.T) {
	home := isolate(t)
	var err error
	printed := captureStderr(t, func() {
		_, err = dbaas.Open(context.Background(), "aws", dbaas.Config{Region: "eu-west-1"})
	})
	require.Error(t, err)
	assert.ErrorIs(t, err, dbaas.ErrPermissionDenied)
	msg := err.Error()
	assert.NotContains(t, msg, "\n", "one line")
	for _, want := range []string{"no AWS credentials", "environment", "AWS_ACCESS_KEY_ID",
		filepath.Join(home, ".aws", "credentials"), filepath.Join(home, ".aws", "config"), "profile default",
		"instance role", "AWS_EC2_METADATA_DISABLED"} {
		assert.Contains(t, msg, want)
	}
	assert.Empty(t, printed, "nothing printed")

	// A profile named in the settings is the one reported.
	_, err = dbaas.Open(context.Background(), "aws", dbaas.Config{Region: "eu-west-1", Settings: map[string]string{"profile": "ops"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ops")

	// Credentials in the shared file are found: no error.
	require.NoError(t, os.MkdirAll(filepath.Join(home, ".aws"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(home, ".aws", "credentials"),
		[]byte("[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = s\n"), 0o600))
	p, err := dbaas.Open(context.Background(), "aws", dbaas.Config{Region: "eu-west-1"})
	require.NoError(t, err)
	require.NoError(t, p.Close())
}
