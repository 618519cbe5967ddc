package dump

import (
	"bytes"
	"slices"
	"strings"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

var mysqlRules = []Rule{
	{
		ID: "mysql-definer", Dialect: "mysql", Severity: Fails,
		Match:   "DEFINER=user@host in CREATE/ALTER of views, routines, triggers and events, bare or in /*!50013 … */ comments",
		Reason:  "creating an object for another account needs SUPER or SET_USER_ID, which managed services do not grant",
		Targets: "every managed provider",
		Fix:     "remove the DEFINER clause so the importing user becomes the definer (an emptied /*!…*/ comment goes too)",
		check:   checkDefiner,
	},
	{
		ID: "mysql-sql-log-bin", Dialect: "mysql", Severity: Fails,
		Match:   "SET statements reading or writing @@SESSION.SQL_LOG_BIN",
		Reason:  "setting sql_log_bin needs SUPER or SYSTEM_VARIABLES_ADMIN",
		Targets: "every managed provider",
		Fix:     "remove the statement; the import is then logged like any other write",
		check:   checkSetVar("SQL_LOG_BIN"),
	},
	{
		ID: "mysql-gtid-purged", Dialect: "mysql", Severity: Fails,
		Match:   "SET @@GLOBAL.GTID_PURGED (on one or several lines) and MariaDB's SET GLOBAL gtid_slave_pos/gtid_binlog_state",
		Reason:  "needs SUPER and an empty GTID history on the target; the source's GTIDs mean nothing there",
		Targets: "every managed provider",
		Fix:     "remove the statement",
		check:   checkSetVar("GTID_PURGED", "gtid_slave_pos", "gtid_binlog_state"),
	},
	{
		ID: "mysql-change-master", Dialect: "mysql", Severity: Fails,
		Match:   "CHANGE MASTER TO, CHANGE REPLICATION SOURCE TO, START/STOP SLAVE|REPLICA",
		Reason:  "configuring replication needs REPLICATION_SLAVE_ADMIN; the coordinates point at the old server",
		Targets: "every managed provider",
		Fix:     "remove the statement",
		check:   checkChangeMaster,
	},
	{
		ID: "mysql-no-primary-key", Dialect: "mysql", Severity: Fails,
		Match:   "CREATE TABLE without a PRIMARY KEY",
		Reason:  "the target runs MySQL with sql_require_primary_key=ON, which users cannot turn off",
		Targets: "digitalocean, linode, vultr, exoscale, aiven (MySQL)",
		check:   checkNoPrimaryKey,
	},
	{
		ID: "mysql-engine", Dialect: "mysql", Severity: ChangesBehaviour,
		Match:   "CREATE TABLE … ENGINE= other than InnoDB (MyISAM, Aria, MEMORY, ARCHIVE, CSV, …)",
		Reason:  "the provider accepts only InnoDB, or the engine does not exist in MySQL (Aria); elsewhere the table loses crash safety and point-in-time recovery",
		Targets: "fails on digitalocean, linode, vultr, exoscale, aiven, azure, and MariaDB-only engines into MySQL; changes behaviour on aws and cloudsql",
		Fix:     "ENGINE=InnoDB for MyISAM, Aria, MEMORY, ARCHIVE and CSV tables (Aria's PAGE_CHECKSUM and TRANSACTIONAL options go); none for MERGE, FEDERATED, CONNECT, SPIDER, BLACKHOLE",
		check:   checkEngine,
	},
	{
		ID: "mysql-row-format", Dialect: "mysql", Severity: Fails,
		Match:   "ROW_FORMAT=FIXED|PAGE|COMPRESSED and KEY_BLOCK_SIZE in CREATE TABLE",
		Reason:  "InnoDB in strict mode refuses FIXED and PAGE; COMPRESSED and KEY_BLOCK_SIZE depend on file-per-table and page size settings the provider owns",
		Targets: "every managed provider, for tables that are or become InnoDB",
		Fix:     "remove the option; the table gets the default DYNAMIC row format",
		check:   checkRowFormat,
	},
	{
		ID: "mysql-collation-0900", Dialect: "mysql", Severity: Fails,
		Match:   "utf8mb4_0900_* collations in DDL and SET statements (never in data)",
		Reason:  "MySQL 8 collations are unknown to MariaDB before 11.4.5 and to MySQL 5.7",
		Targets: "MariaDB targets (unless version ≥ 11.4.5) and MySQL 5.7",
		Fix:     "utf8mb4_unicode_520_ci (utf8mb4_bin for *_bin); sorting of some characters changes",
		check:   checkCollation0900,
	},
	{
		ID: "mysql-collation-uca1400", Dialect: "mysql", Severity: Fails,
		Match:   "MariaDB utf8mb4_uca1400_* / utf8mb3_uca1400_* collations in DDL and SET statements (never in data)",
		Reason:  "MariaDB 10.10+ collations are unknown to MySQL",
		Targets: "MySQL targets",
		Fix:     "the matching utf8mb4_0900_* collation (MySQL 8), utf8mb4_unicode_520_ci before 8.0",
		check:   checkCollationUCA1400,
	},
	{
		ID: "mysql-sandbox", Dialect: "mysql", Severity: Fails,
		Match:   `the first line /*M!999999\- enable the sandbox mode */ of mariadb-dump 10.5.25+, 10.11.8+, 11.x`,
		Reason:  `the mysql client (and older mariadb clients) stop with "Unknown command '\-'"`,
		Targets: "MySQL targets",
		Fix:     "remove the line",
		check:   checkSandbox,
	},
	{
		ID: "mysql-system-schema", Dialect: "mysql", Severity: Fails,
		Match:   "writes to the mysql, sys, performance_schema or information_schema schemas (USE, CREATE DATABASE, qualified DDL and INSERT)",
		Reason:  "managed services own the system schemas; users and grants must be recreated with CREATE USER/GRANT",
		Targets: "every managed provider",
		check:   checkSystemSchema,
	},
	{
		ID: "mysql-rds-object", Dialect: "mysql", Severity: Fails,
		Match:   "objects named rds_* (CREATE/DROP) and CALL mysql.rds_* procedures",
		Reason:  "rds_* objects belong to Amazon RDS: their procedures exist nowhere else, and RDS reserves the names",
		Targets: "CALL on every provider but aws; CREATE/DROP on every managed provider",
		check:   checkRDSObject,
	},
	{
		ID: "mysql-privileged-grant", Dialect: "mysql", Severity: Fails,
		Match:   "GRANT of SUPER, FILE, PROCESS, RELOAD, SHUTDOWN, PROXY, REPLICATION, *_ADMIN or ALL ON *.*",
		Reason:  "managed services keep these privileges; the GRANT fails with access denied",
		Targets: "every managed provider",
		check:   checkPrivilegedGrant,
	},
	{
		ID: "mysql-tablespace", Dialect: "mysql", Severity: Fails,
		Match:   "CREATE/ALTER TABLESPACE; TABLESPACE, DATA DIRECTORY and INDEX DIRECTORY table options",
		Reason:  "managed services do not give access to the file system or general tablespaces",
		Targets: "every managed provider",
		Fix:     "remove the table options (the table goes to its own file in the default place); none for CREATE TABLESPACE",
		check:   checkTablespace,
	},
	{
		ID: "mysql-install-plugin", Dialect: "mysql", Severity: Fails,
		Match:   "INSTALL/UNINSTALL PLUGIN|SONAME, CREATE FUNCTION … SONAME",
		Reason:  "loading server code needs SUPER and file access",
		Targets: "every managed provider",
		check:   checkInstallPlugin,
	},
}

func mysqlDDL(c *checkCtx) bool { return c.tk != nil && c.src.MySQLFamily() }

// removal is the edit that removes significant tokens i..j, with the
// executable comment around them when nothing else is in it, and the
// blanks before them (after them at the start of a line or of an
// executable comment).
func (c *checkCtx) removal(i, j int) edit {
	tk := c.tk
	s, e := tk.span(i, j)
	ai, aj := tk.sig[i], tk.sig[j]
	afterOpen := ai > 0 && tk.all[ai-1].k == tkExecOpen
	if afterOpen && aj+1 < len(tk.all) && tk.all[aj+1].k == tkExecClose {
		s, e = tk.all[ai-1].s, tk.all[aj+1].e
		afterOpen = false
	}
	blank := func(c byte) bool { return c == ' ' || c == '\t' }
	if !afterOpen && s > 0 && blank(tk.text[s-1]) {
		for s > 0 && blank(tk.text[s-1]) {
			s--
		}
		return edit{s: s, e: e}
	}
	for e < len(tk.text) && blank(tk.text[e]) {
		e++
	}
	return edit{s: s, e: e}
}

// userEnd returns the last token of a user@host starting at i, or -1.
func userEnd(tk *tokens, i int) int {
	if tk.is(i, "CURRENT_USER") {
		if tk.punct(i+1, '(') && tk.punct(i+2, ')') {
			return i + 2
		}
		return i
	}
	if !tk.isName(i) {
		return -1
	}
	if tk.punct(i+1, '@') && tk.isName(i+2) {
		return i + 2
	}
	return i
}

var objectKeywords = []string{"PROCEDURE", "FUNCTION", "TRIGGER", "EVENT", "VIEW", "TABLE", "DATABASE", "SCHEMA", "INDEX", "USER", "ROLE"}

func checkDefiner(c *checkCtx) []hit {
	if !mysqlDDL(c) || !c.t.managed() || !(c.tk.is(0, "CREATE") || c.tk.is(0, "ALTER")) {
		return nil
	}
	tk := c.tk
	for i := 1; i < tk.n() && i < 64; i++ {
		if slices.ContainsFunc(objectKeywords, func(w string) bool { return tk.is(i, w) }) {
			return nil
		}
		if tk.is(i, "DEFINER") && tk.punct(i+1, '=') {
			j := userEnd(tk, i+2)
			if j < 0 || tk.is(i+2, "CURRENT_USER") {
				return nil
			}
			h := c.tokHit(i, j)
			h.edits = []edit{c.removal(i, j)}
			return []hit{h}
		}
	}
	return nil
}

// checkSetVar matches SET statements naming any of the variables.
func checkSetVar(vars ...string) func(c *checkCtx) []hit {
	return func(c *checkCtx) []hit {
		if !mysqlDDL(c) || !c.t.managed() || !c.tk.is(0, "SET") {
			return nil
		}
		for i := 1; i < c.tk.n(); i++ {
			for _, v := range vars {
				if c.tk.is(i, v) {
					h := c.whole(true)
					return []hit{h}
				}
			}
		}
		return nil
	}
}

func checkChangeMaster(c *checkCtx) []hit {
	if !mysqlDDL(c) || !c.t.managed() {
		return nil
	}
	tk := c.tk
	if tk.is(0, "CHANGE") && (tk.is(1, "MASTER") || tk.is(1, "REPLICATION")) ||
		(tk.is(0, "START") || tk.is(0, "STOP")) && (tk.is(1, "SLAVE") || tk.is(1, "REPLICA") || tk.is(1, "ALL")) {
		return []hit{c.whole(true)}
	}
	return nil
}

// createTable returns the index of the table name in CREATE [TEMPORARY]
// TABLE [IF NOT EXISTS] name, or -1.
func createTable(tk *tokens) int {
	if !tk.is(0, "CREATE") {
		return -1
	}
	i := 1
	if tk.is(i, "OR") && tk.is(i+1, "REPLACE") {
		i += 2
	}
	if tk.is(i, "TEMPORARY") {
		i++
	}
	if !tk.is(i, "TABLE") {
		return -1
	}
	i++
	if tk.is(i, "IF") && tk.is(i+1, "NOT") && tk.is(i+2, "EXISTS") {
		i += 3
	}
	return i
}

// tableOptions returns the significant token indexes after the column
// list of a CREATE TABLE, where its options are, up to PARTITION.
func tableOptions(tk *tokens, from int) (start, end int) {
	depth, start := 0, -1
	for i := from; i < tk.n(); i++ {
		switch {
		case tk.punct(i, '('):
			depth++
		case tk.punct(i, ')'):
			depth--
			if depth == 0 && start < 0 {
				start = i + 1
			}
		case depth == 0 && start >= 0 && (tk.is(i, "PARTITION") || tk.punct(i, ';')):
			return start, i
		}
	}
	if start < 0 {
		return tk.n(), tk.n()
	}
	return start, tk.n()
}

func checkNoPrimaryKey(c *checkCtx) []hit {
	if !mysqlDDL(c) || !c.t.facts().requirePK || c.t.Engine != dbaas.MySQL {
		return nil
	}
	tk := c.tk
	n := createTable(tk)
	if n < 0 || tk.is(n, "LIKE") {
		return nil
	}
	_, _, after := tk.qualified(n, false)
	if !tk.punct(after, '(') || tk.is(after+1, "LIKE") {
		return nil // CREATE TABLE … LIKE or AS SELECT
	}
	depth := 0
	for i := after; i < tk.n(); i++ {
		switch {
		case tk.punct(i, '('):
			depth++
		case tk.punct(i, ')'):
			if depth--; depth == 0 {
				h := c.tokHit(0, min(after, tk.n()-1))
				return []hit{h}
			}
		case depth == 1 && tk.is(i, "PRIMARY") && tk.is(i+1, "KEY"):
			return nil
		}
	}
	return nil
}

var (
	engineFixable   = []string{"MyISAM", "Aria", "MEMORY", "HEAP", "ARCHIVE", "CSV"}
	engineMariaOnly = []string{"Aria", "CONNECT", "SPIDER", "S3", "SEQUENCE", "OQGRAPH", "ColumnStore", "Mroonga", "SphinxSE"}
)

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

// tableEngine finds ENGINE[=]name among a CREATE TABLE's options: the
// index of ENGINE and of the name, or -1.
func tableEngine(tk *tokens) (kw, name int) {
	n := createTable(tk)
	if n < 0 {
		return -1, -1
	}
	s, e := tableOptions(tk, n)
	for i := s; i < e; i++ {
		if tk.is(i, "ENGINE") || tk.is(i, "TYPE") {
			j := i + 1
			if tk.punct(j, '=') {
				j++
			}
			if tk.isName(j) {
				return i, j
			}
		}
	}
	return -1, -1
}

// engineConverted reports whether checkEngine changes a table's engine
// to InnoDB for this target, and the hit that says so.
func engineHit(c *checkCtx) (hit, bool) {
	tk := c.tk
	_, j := tableEngine(tk)
	if j < 0 {
		return hit{}, false
	}
	engine := tk.name(j, false)
	if strings.EqualFold(engine, "InnoDB") {
		return hit{}, false
	}
	mariaOnly := c.t.Engine == dbaas.MySQL && containsFold(engineMariaOnly, engine)
	var sev Severity
	switch {
	case mariaOnly || c.t.managed() && c.t.facts().innodbOnly:
		sev = Fails
	case c.t.managed():
		sev = ChangesBehaviour
	default:
		return hit{}, false
	}
	h := c.tokHit(j, j)
	h.severity = sev
	if containsFold(engineFixable, engine) {
		h.edits = []edit{{s: tk.at(j).s, e: tk.at(j).e, repl: "InnoDB"}}
		s, e := tableOptions(tk, createTable(tk))
		for i := s; i < e; i++ {
			if (tk.is(i, "PAGE_CHECKSUM") || tk.is(i, "TRANSACTIONAL")) && tk.punct(i+1, '=') && tk.isName(i+2) {
				h.edits = append(h.edits, c.removal(i, i+2))
			}
		}
	}
	return h, true
}

func checkEngine(c *checkCtx) []hit {
	if !mysqlDDL(c) {
		return nil
	}
	if h, ok := engineHit(c); ok {
		return []hit{h}
	}
	return nil
}

func checkRowFormat(c *checkCtx) []hit {
	if !mysqlDDL(c) || !c.t.managed() {
		return nil
	}
	tk := c.tk
	n := createTable(tk)
	if n < 0 {
		return nil
	}
	innodb := true
	if _, j := tableEngine(tk); j >= 0 && !strings.EqualFold(tk.name(j, false), "InnoDB") {
		h, ok := engineHit(c)
		innodb = ok && h.fixable()
	}
	if !innodb {
		return nil
	}
	var hits []hit
	s, e := tableOptions(tk, n)
	for i := s; i < e; i++ {
		j := i + 1
		if tk.punct(j, '=') {
			j++
		}
		switch {
		case tk.is(i, "ROW_FORMAT") && (tk.is(j, "FIXED") || tk.is(j, "PAGE") || tk.is(j, "COMPRESSED")),
			tk.is(i, "KEY_BLOCK_SIZE") && tk.isName(j):
			h := c.tokHit(i, j)
			if tk.is(j, "COMPRESSED") || tk.is(i, "KEY_BLOCK_SIZE") {
				h.severity = ChangesBehaviour
			}
			h.edits = []edit{c.removal(i, j)}
			hits = append(hits, h)
		}
	}
	return hits
}

// checkCollations replaces collation words for which repl returns a
// name.
func checkCollations(c *checkCtx, repl func(string) string) []hit {
	tk := c.tk
	var h hit
	found := false
	for i := 0; i < tk.n(); i++ {
		// every collation named here starts with utf8mb: skip other words
		// without allocating
		if w := tk.bytes(i); tk.at(i).k != tkWord || len(w) < 12 || w[0]|0x20 != 'u' {
			continue
		}
		r := repl(strings.ToLower(string(tk.bytes(i))))
		if r == "" {
			continue
		}
		x := tk.at(i)
		if !found {
			h = c.tokHit(i, i)
			found = true
		}
		h.edits = append(h.edits, edit{s: x.s, e: x.e, repl: r})
	}
	if !found {
		return nil
	}
	return []hit{h}
}

func checkCollation0900(c *checkCtx) []hit {
	if !mysqlDDL(c) {
		return nil
	}
	t := c.t
	if !(t.Engine == dbaas.MariaDB && (t.Version == "" || t.versionBelow("11.4.5")) || t.Engine == dbaas.MySQL && t.versionBelow("8.0")) {
		return nil
	}
	return checkCollations(c, func(w string) string {
		if !strings.HasPrefix(w, "utf8mb4_0900_") {
			return ""
		}
		if strings.HasSuffix(w, "_bin") {
			return "utf8mb4_bin"
		}
		return "utf8mb4_unicode_520_ci"
	})
}

func checkCollationUCA1400(c *checkCtx) []hit {
	if !mysqlDDL(c) || c.t.Engine != dbaas.MySQL {
		return nil
	}
	old := c.t.versionBelow("8.0")
	return checkCollations(c, func(w string) string {
		cs, rest, ok := strings.Cut(w, "_uca1400_")
		if !ok || cs != "utf8mb4" && cs != "utf8mb3" {
			return ""
		}
		if old || cs == "utf8mb3" {
			return cs + "_unicode_520_ci"
		}
		rest = strings.Replace(rest, "nopad_", "", 1)
		switch rest {
		case "as_cs", "as_ci", "ai_ci", "bin":
			return "utf8mb4_0900_" + rest
		}
		return "utf8mb4_0900_ai_ci"
	})
}

func checkSandbox(c *checkCtx) []hit {
	if c.st.Kind != KindMeta || !c.src.MySQLFamily() || c.t.Engine != dbaas.MySQL || !bytes.HasPrefix(c.st.Text, sandboxPrefix) {
		return nil
	}
	return []hit{c.whole(true)}
}

var systemSchemas = []string{"mysql", "sys", "performance_schema", "information_schema"}

func checkSystemSchema(c *checkCtx) []hit {
	if !c.src.MySQLFamily() || !c.t.managed() || c.tk == nil {
		return nil
	}
	tk := c.tk
	switch {
	case tk.is(0, "USE") && containsFold(systemSchemas, tk.name(1, false)),
		tk.is(0, "CREATE") && (tk.is(1, "DATABASE") || tk.is(1, "SCHEMA")):
		db := tk.name(1, false)
		if !tk.is(0, "USE") {
			i := 2
			if tk.is(i, "IF") {
				i += 3
			}
			db = tk.name(i, false)
		}
		if containsFold(systemSchemas, db) && c.once("schema "+strings.ToLower(db)) {
			return []hit{c.tokHit(0, min(tk.n()-1, 5))}
		}
		return nil
	}
	// a qualified name system.table anywhere before the column list
	for i := 0; i < tk.n() && i < 16; i++ {
		if tk.punct(i, '(') {
			break
		}
		if tk.isName(i) && tk.punct(i+1, '.') && tk.isName(i+2) && containsFold(systemSchemas, tk.name(i, false)) {
			key := "table " + strings.ToLower(tk.name(i, false)+"."+tk.name(i+2, false))
			if c.once(key) {
				return []hit{c.tokHit(0, i+2)}
			}
			return nil
		}
	}
	return nil
}

func checkRDSObject(c *checkCtx) []hit {
	if !mysqlDDL(c) || !c.t.managed() {
		return nil
	}
	tk := c.tk
	call := tk.is(0, "CALL")
	if !(call && c.t.Provider != "aws" || tk.is(0, "CREATE") || tk.is(0, "DROP")) {
		return nil
	}
	for i := 1; i < tk.n() && i < 12; i++ {
		if tk.punct(i, '(') {
			break
		}
		if tk.isName(i) && strings.HasPrefix(strings.ToLower(tk.name(i, false)), "rds_") && !tk.punct(i+1, '.') {
			return []hit{c.tokHit(0, i)}
		}
	}
	return nil
}

var privilegedPrivileges = []string{"SUPER", "FILE", "PROCESS", "RELOAD", "SHUTDOWN", "PROXY", "REPLICATION", "BINLOG", "CREATE TABLESPACE"}

func checkPrivilegedGrant(c *checkCtx) []hit {
	if !mysqlDDL(c) || !c.t.managed() || !c.tk.is(0, "GRANT") {
		return nil
	}
	tk := c.tk
	on := tk.find(1, "ON")
	if on < 0 {
		return nil // GRANT role TO user
	}
	for i := 1; i < on; i++ {
		w := strings.ToUpper(string(tk.bytes(i)))
		if tk.at(i).k == tkWord && (containsFold(privilegedPrivileges, w) || strings.HasSuffix(w, "_ADMIN")) {
			return []hit{c.tokHit(0, on-1)}
		}
	}
	if tk.is(1, "ALL") && tk.punct(on+1, '*') && tk.punct(on+2, '.') && tk.punct(on+3, '*') {
		return []hit{c.tokHit(0, on+3)}
	}
	return nil
}

func checkTablespace(c *checkCtx) []hit {
	if !mysqlDDL(c) || !c.t.managed() {
		return nil
	}
	tk := c.tk
	if (tk.is(0, "CREATE") || tk.is(0, "ALTER")) && (tk.is(1, "TABLESPACE") || tk.is(1, "UNDO") && tk.is(2, "TABLESPACE")) {
		return []hit{c.tokHit(0, min(2, tk.n()-1))}
	}
	n := createTable(tk)
	if n < 0 {
		return nil
	}
	var hits []hit
	s, e := tableOptions(tk, n)
	for i := s; i < e; i++ {
		end := -1
		switch {
		case tk.is(i, "TABLESPACE"):
			j := i + 1
			if tk.punct(j, '=') {
				j++
			}
			if tk.isName(j) {
				end = j
				if tk.is(j+1, "STORAGE") && tk.isName(j+2) {
					end = j + 2
				}
			}
		case (tk.is(i, "DATA") || tk.is(i, "INDEX")) && tk.is(i+1, "DIRECTORY"):
			j := i + 2
			if tk.punct(j, '=') {
				j++
			}
			if tk.at(min(j, tk.n()-1)).k == tkString {
				end = j
			}
		}
		if end >= 0 {
			h := c.tokHit(i, end)
			h.edits = []edit{c.removal(i, end)}
			hits = append(hits, h)
			i = end
		}
	}
	return hits
}

func checkInstallPlugin(c *checkCtx) []hit {
	if !mysqlDDL(c) || !c.t.managed() {
		return nil
	}
	tk := c.tk
	if (tk.is(0, "INSTALL") || tk.is(0, "UNINSTALL")) && (tk.is(1, "PLUGIN") || tk.is(1, "SONAME")) {
		return []hit{c.tokHit(0, 1)}
	}
	if tk.is(0, "CREATE") && tk.find(1, "FUNCTION") > 0 && tk.find(1, "SONAME") > 0 {
		return []hit{c.tokHit(0, tk.find(1, "SONAME"))}
	}
	return nil
}
