// Package realdb is a simdb.Backend (and simdb.Snapshotter) on database
// servers already running on this machine: PostgreSQL, reached as the
// superuser postgres, and MariaDB, reached as root. Each simulated
// instance gets a database and a login of its own with a generated
// password, so the credentials a simulator hands out are real; a
// snapshot is a copy of that database on the same server. Everything it
// made is dropped on Detach, DropSnapshot or Close.
//
// The simulators' tests use it to prove that an adapter's endpoint,
// credentials and restores reach real data, and `dbaas sim` can use it
// when no local provider is wanted.
//
//	b, err := realdb.New(realdb.Options{})
//	if err != nil {
//		return err
//	}
//	defer b.Close(context.Background())
//	if err := b.Check(ctx); err != nil {
//		return err // a server is not running
//	}
//	sim, url, err := awssim.Start(awssim.Options{Backend: b})
//
// The servers' versions are whatever runs: the version a simulator asks
// for is not checked. MySQL instances are served by MariaDB.
package realdb
