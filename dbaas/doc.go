// Package dbaas is one interface to managed databases (DBaaS) across clouds.
//
// A [Provider] is the contract each cloud adapter implements: provision a
// MySQL, MariaDB or PostgreSQL database, learn its endpoint and port, open
// network access, and take, list and restore native backups. Providers
// register themselves by name in init, like database/sql drivers, and are
// opened with [Open]:
//
//	import _ "github.com/agiledeploy/dbaaskit/providers/local"
//
//	p, err := dbaas.Open(ctx, "local", dbaas.Config{})
//	inst, err := dbaas.Ensure(ctx, p, dbaas.Spec{Name: "shop", Engine: dbaas.Postgres, Size: "small"})
//	inst, err = dbaas.Wait(ctx, p, inst.ID, dbaas.WaitOptions{})
//	conn, err := p.Connection(ctx, inst.ID)
//
// Everything generic is written once here on top of the interface: [Wait],
// [WaitBackup], [WaitDeleted], [Ensure], [SyncAccess] and [CheckPort].
//
// Errors returned by providers wrap a small set of sentinels
// ([ErrNotFound], [ErrAlreadyExists], [ErrInvalidArgument],
// [ErrUnsupported], [ErrPermissionDenied], [ErrRateLimited], [ErrConflict],
// [ErrTimeout]) so that errors.Is works, and keep the cloud SDK's own error
// reachable with errors.As.
//
// Passwords and tokens are held in [Secret], which never prints, logs or
// marshals its value.
package dbaas
