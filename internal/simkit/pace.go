package simkit

import (
	"fmt"
	"strings"
	"time"
)

// Pace is how long a simulator's life cycle takes on its clock: what a
// cloud takes minutes for, a simulator does in the time its options say.
// Each simulator reports its own with a Pace method.
type Pace struct {
	// Provision is how long a new or restored instance takes to become
	// available, from the create call.
	Provision time.Duration
	// Update is how long a change (resize, patch) keeps it busy.
	Update time.Duration
	// Backup is how long a backup takes.
	Backup time.Duration
	// Delete is how long a deleted instance stays listed as deleting.
	Delete time.Duration
}

// ExpectedEnv is the environment variable that tells the dbaas command
// how long provisioning takes on the simulator standing in for provider
// ("DBAAS_EXPECTED_PROVISIONING_DIGITALOCEAN"), in Go duration syntax.
// Waits use it instead of the cloud's typical minutes, so `--wait`
// against a simulator polls at the simulator's pace. `dbaas sim` exports
// it beside the base URL.
func ExpectedEnv(provider string) string {
	return "DBAAS_EXPECTED_PROVISIONING_" + strings.ToUpper(provider)
}

// ParseExpected reads the value of ExpectedEnv: a positive duration, or
// an error naming the variable and the rule.
func ParseExpected(provider, value string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(value))
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive duration such as 3s", ExpectedEnv(provider), value)
	}
	return d, nil
}

// Expected is the time to give waits as the expected provisioning time:
// Provision, at least a millisecond so that it is never taken for "no
// hint" (an instant simulator still answers after a poll).
func (p Pace) Expected() time.Duration { return max(p.Provision, time.Millisecond) }
