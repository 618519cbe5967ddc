// Package migrate moves a database between any two providers in one
// stream and proves the copy: dump.Take on the source, the target's
// portability rules, dump.Load into the target as the dump arrives (no
// temporary file of the data), then Verify, which compares every user
// table's row count and a checksum of its rows in primary-key order on
// both sides, and the views, routines, triggers and sequences.
//
//	rep, err := migrate.Migrate(ctx,
//		migrate.Side{Provider: do, ID: "shop"},
//		migrate.Side{Provider: aws, ID: "shop-new"},
//		migrate.Options{})
//	if err != nil {
//		// rep.Stage says where it stopped, rep.Load what the target holds
//		return err
//	}
//
// A target that already holds tables is refused (ErrNotEmpty) unless
// Options.IntoExisting; a difference found is ErrMismatch, and the report
// is never Complete after an error. TargetSpec and CreateTarget make the
// target from the source's spec.
package migrate
