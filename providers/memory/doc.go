// Package memory is an in-memory dbaas provider: the reference
// implementation of the contract, for tests, examples and trying the SDK
// without a cloud.
//
// Import it for its side effect to open it by name, or build one directly
// to set its delays and clock:
//
//	import _ "github.com/agiledeploy/dbaaskit/providers/memory"
//
//	p, err := dbaas.Open(ctx, "memory", dbaas.Config{Settings: map[string]string{"provision_delay": "2s"}})
//
//	p := memory.New(memory.Options{ProvisionDelay: 2 * time.Second})
//
// It behaves like a cloud: Create returns at once with status
// provisioning and the instance becomes available after ProvisionDelay on
// its Clock; names are unique; every source kind is accepted and Allow
// and Revoke are idempotent; on-demand backups, a point-in-time window
// over the retention period, final backups on delete and restores into
// new instances all work; instances can be stopped and started
// (dbaas.Starter); Spec.DeletionProtection makes Delete refuse until
// SetDeletionProtection turns it off. It starts no goroutine: statuses
// move on when read.
//
// Nothing listens behind an instance. Each has a loopback host of its own
// (127.0.0.1 for the first) so a ConnectionInfo names it, and a tiny data
// store (Put, Values, InstanceFor) stands in for its tables, so that tests
// can prove what a backup or restore holds. Calls counts API calls.
//
// Settings of dbaas.Open: provision_delay, backup_delay and delete_delay,
// each a Go duration; any other key is refused. Each Open returns a new,
// empty provider.
//
// As hands out the *Provider itself for a **Provider target.
package memory
