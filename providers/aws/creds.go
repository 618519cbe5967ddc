package aws

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// CredentialTimeout bounds how long New waits for the default chain to
// find credentials. Its last source, the instance role, asks the EC2
// instance metadata service, which off EC2 never answers: without a bound
// the SDK would wait on it at the first API call, not say why at once.
const CredentialTimeout = 5 * time.Second

// noCredentials is the one-line error of a default chain that found no
// credentials.
type noCredentials struct {
	tried string
	cause error
}

func (e *noCredentials) Error() string {
	return "no AWS credentials found: tried " + e.tried +
		"; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE, the setting profile), or the settings access_key_id and secret_access_key"
}

// Unwrap gives errors.Is dbaas.ErrPermissionDenied, and errors.As the
// SDK's error.
func (e *noCredentials) Unwrap() []error {
	if e.cause == nil {
		return []error{dbaas.ErrPermissionDenied}
	}
	return []error{dbaas.ErrPermissionDenied, e.cause}
}

// checkCredentials asks the default chain for credentials once, within
// CredentialTimeout, so that a machine without any learns it when the
// provider is opened, in one line naming every source tried. The
// credentials are cached for the calls that follow.
func checkCredentials(ctx context.Context, creds aws.CredentialsProvider, profile string) error {
	if creds == nil {
		return &noCredentials{tried: triedSources(profile)}
	}
	ctx, cancel := context.WithTimeout(ctx, CredentialTimeout)
	defer cancel()
	_, err := creds.Retrieve(ctx)
	if err == nil {
		return nil
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err()
	}
	tried := triedSources(profile)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		tried += fmt.Sprintf(" (no answer within %s)", CredentialTimeout)
	}
	return &noCredentials{tried: tried, cause: err}
}

// triedSources names the sources of the default chain, as this process
// sees them.
func triedSources(profile string) string {
	if profile == "" {
		profile = os.Getenv("AWS_PROFILE")
	}
	if profile == "" {
		profile = "default"
	}
	// The SDK fixes its default file names when the program starts.
	files := append(slices.Clone(config.DefaultSharedCredentialsFiles), config.DefaultSharedConfigFiles...)
	if f := os.Getenv("AWS_SHARED_CREDENTIALS_FILE"); f != "" {
		files[0] = f
	}
	if f := os.Getenv("AWS_CONFIG_FILE"); f != "" {
		files[len(files)-1] = f
	}
	role := "the instance role (EC2 instance metadata)"
	if strings.EqualFold(os.Getenv("AWS_EC2_METADATA_DISABLED"), "true") {
		role = "the instance role (EC2 instance metadata, disabled by AWS_EC2_METADATA_DISABLED)"
	}
	return "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), the shared files " +
		strings.Join(files, " and ") + " (profile " + profile + "), and " + role
}
