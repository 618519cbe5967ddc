// Package dump finds and fixes what stops a SQL dump taken on one database
// service from importing into another: DEFINER clauses naming the old
// admin, SET @@GLOBAL.GTID_PURGED, SQL_LOG_BIN, ALTER … OWNER TO doadmin,
// grants to rds_superuser, provider-only extensions, settings a newer
// pg_dump writes, tables without a primary key where the target requires
// one, and more: Rules lists them, with why each fails and where.
//
// A Reader splits a mysqldump, mariadb-dump, pg_dump or pg_dumpall file
// (plain SQL, optionally gzip-compressed) into statements. It knows
// strings and their escapes, comments, /*! … */ executable comments,
// DELIMITER, dollar quotes, psql meta-commands and COPY … FROM stdin rows,
// so a word inside a string or a row never looks like a statement. It
// streams: a statement longer than its head limit passes through in
// chunks, so memory stays bounded whatever the size of the dump or of its
// longest INSERT. A dump that ends without its tool's completion trailer
// is reported as ErrTruncated, the silent way to lose data.
//
// Scan reports findings (rule, line, excerpt, severity, reason, whether a
// safe fix exists) for a Target; Rewrite copies the dump with the safe
// fixes applied and RewriteFile does it into a file that appears only
// when complete. Rows of data (INSERT and REPLACE statements, COPY rows)
// are never altered, whatever they contain.
//
//	f, _ := os.Open("app.sql.gz")
//	r, err := dump.NewReader(f, "")
//	if err != nil {
//		return err
//	}
//	rep, err := dump.RewriteFile(ctx, "app.fixed.sql", r, dump.Target{Provider: "digitalocean"})
//	if err != nil {
//		return err
//	}
//	for _, f := range rep.Failing() {
//		fmt.Println(f) // what still fails: no safe fix exists
//	}
package dump
