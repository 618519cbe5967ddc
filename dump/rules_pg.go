package dump

import (
	"bytes"
	"slices"
	"strings"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

var pgRules = []Rule{
	{
		ID: "pg-owner", Dialect: "postgres", Severity: Fails,
		Match:   "ALTER … OWNER TO a provider's administrative role (rdsadmin, rds_superuser, doadmin, avnadmin, akmadmin, linpostgres, cloudsqlsuperuser, azure_pg_admin, …) or, given the target's roles, any role missing there",
		Reason:  "the role does not exist on the target, or the importing user may not give objects to it",
		Targets: "every managed provider; with Target.Roles, any target",
		Fix:     "remove the statement: the object stays owned by the importing user",
		check:   checkOwner,
	},
	{
		ID: "pg-grant-role", Dialect: "postgres", Severity: Fails,
		Match:   "GRANT/REVOKE (and ALTER DEFAULT PRIVILEGES, SET SESSION AUTHORIZATION, SET ROLE) naming such a role",
		Reason:  "the role does not exist on the target, or only its provider may grant it",
		Targets: "every managed provider; with Target.Roles, any target",
		Fix:     "remove the statement when every role it names is such a role; none when it also names others",
		check:   checkGrantRole,
	},
	{
		ID: "pg-provider-role", Dialect: "postgres", Severity: Fails,
		Match:   "CREATE ROLE / ALTER ROLE of a provider's administrative role (pg_dumpall)",
		Reason:  "the provider's roles exist only there and cannot be created or altered by users",
		Targets: "every managed provider",
		Fix:     "remove the statement",
		check:   checkProviderRole,
	},
	{
		ID: "pg-superuser-attributes", Dialect: "postgres", Severity: Fails,
		Match:   "CREATE/ALTER ROLE … SUPERUSER, REPLICATION or BYPASSRLS (pg_dumpall)",
		Reason:  "managed services grant none of these attributes",
		Targets: "every managed provider",
		Fix:     "NOSUPERUSER, NOREPLICATION, NOBYPASSRLS: the role exists with the other attributes",
		check:   checkSuperuserAttributes,
	},
	{
		ID: "pg-comment-on-extension", Dialect: "postgres", Severity: Fails,
		Match:   "COMMENT ON EXTENSION",
		Reason:  `only the extension's owner may comment on it; the provider owns preinstalled extensions ("must be owner of extension")`,
		Targets: "every managed provider",
		Fix:     "remove the statement (the extension keeps its own comment)",
		check:   checkCommentOnExtension,
	},
	{
		ID: "pg-provider-extension", Dialect: "postgres", Severity: Fails,
		Match:   "CREATE EXTENSION of a provider-only extension (aws_commons, aws_s3, aws_lambda, rds_tools, pg_tle, aiven_extras, google_ml_integration, azure, pgaadauth, …) not available on the target",
		Reason:  "the extension exists only on its provider",
		Targets: "every target but the extension's provider",
		check:   checkProviderExtension,
	},
	{
		ID: "pg-unknown-setting", Dialect: "postgres", Severity: Fails,
		Match:   "SET (or set_config) of a setting newer than the target version: transaction_timeout (17), default_table_access_method (12), idle_in_transaction_session_timeout (9.6), row_security (9.5), lock_timeout (9.3)",
		Reason:  `a newer pg_dump writes settings an older server rejects with "unrecognized configuration parameter"`,
		Targets: "targets older than the setting, given Target.Version",
		Fix:     "remove the statement (the settings are session defaults the target has anyway)",
		check:   checkUnknownSetting,
	},
	{
		ID: "pg-restrict", Dialect: "postgres", Severity: Fails,
		Match:   `\restrict and \unrestrict lines of pg_dump 17.6, 16.10, 15.14, 14.19, 13.22 and later`,
		Reason:  `older psql and loaders that are not psql stop with "invalid command \restrict"`,
		Targets: "any target loaded with an older psql or another client",
		Fix:     "remove the lines; pg-meta-command still reports any other meta-command",
		check:   checkRestrict,
	},
	{
		ID: "pg-meta-command", Dialect: "postgres", Severity: Fails,
		Match:   `psql meta-commands other than \connect, \restrict and \unrestrict (\!, \o, \i, \set, …)`,
		Reason:  "pg_dump never writes them: they run commands or read files on the importing machine",
		Targets: "every target",
		check:   checkMetaCommand,
	},
	{
		ID: "pg-public-schema", Dialect: "postgres", Severity: Fails,
		Match:   "CREATE SCHEMA public; ALTER SCHEMA public OWNER TO; COMMENT ON SCHEMA public; GRANT/REVOKE … ON SCHEMA public",
		Reason:  "the schema exists already and belongs to the provider's role or pg_database_owner",
		Targets: "every managed provider",
		Fix:     "remove the statement, except REVOKE, which would leave the schema more open than the source: no fix",
		check:   checkPublicSchema,
	},
	{
		ID: "pg-event-trigger", Dialect: "postgres", Severity: Fails,
		Match:   "CREATE EVENT TRIGGER",
		Reason:  "event triggers need a superuser (on aws, rds_superuser with pg_tle; elsewhere impossible)",
		Targets: "every managed provider",
		check:   checkEventTrigger,
	},
	{
		ID: "pg-publication", Dialect: "postgres", Severity: Fails,
		Match:   "CREATE/ALTER PUBLICATION and SUBSCRIPTION",
		Reason:  "publications FOR ALL TABLES and subscriptions need superuser (or provider-specific roles); a subscription also points at the old server",
		Targets: "every managed provider",
		check:   checkPublication,
	},
}

func pgDDL(c *checkCtx) bool { return c.tk != nil && c.src == dbaas.Postgres }

// roleBad reports whether a role named in the dump breaks the import:
// with Target.Roles any role missing there, else on managed targets the
// other providers' roles.
func (c *checkCtx) roleBad(role string) bool {
	if c.t.Roles == nil && !c.t.managed() {
		return false
	}
	return c.t.badRole(role)
}

func checkOwner(c *checkCtx) []hit {
	if !pgDDL(c) || !c.tk.is(0, "ALTER") {
		return nil
	}
	tk := c.tk
	for i := 1; i+2 < tk.n(); i++ {
		if tk.is(i, "OWNER") && tk.is(i+1, "TO") && c.roleBad(tk.name(i+2, true)) {
			h := c.tokHit(i, i+2)
			h.drop = true
			return []hit{h}
		}
	}
	return nil
}

// roleList reads comma-separated roles from i (GROUP and ROLE keywords
// allowed) and returns them and the index after.
func roleList(tk *tokens, i int) ([]string, int) {
	var roles []string
	for i < tk.n() {
		if tk.is(i, "GROUP") || tk.is(i, "ROLE") && tk.isName(i+1) && !tk.punct(i+1, ',') {
			i++
		}
		if !tk.isName(i) {
			break
		}
		roles = append(roles, tk.name(i, true))
		i++
		if !tk.punct(i, ',') {
			break
		}
		i++
	}
	return roles, i
}

func checkGrantRole(c *checkCtx) []hit {
	if !pgDDL(c) {
		return nil
	}
	tk := c.tk
	// subjects are roles the statement cannot run without; grantees are
	// the roles it gives to or takes from
	var subjects, grantees []string
	switch {
	case tk.is(0, "SET") && tk.is(1, "SESSION") && tk.is(2, "AUTHORIZATION"):
		subjects = []string{tk.name(3, true)}
	case tk.is(0, "SET") && tk.is(1, "ROLE"):
		subjects = []string{tk.name(2, true)}
	case tk.is(0, "GRANT") || tk.is(0, "REVOKE") || tk.is(0, "ALTER") && tk.is(1, "DEFAULT") && tk.is(2, "PRIVILEGES"):
		for i := 1; i < tk.n(); i++ {
			switch {
			case tk.is(i, "FOR") && (tk.is(i+1, "ROLE") || tk.is(i+1, "USER")):
				r, next := roleList(tk, i+2)
				subjects = append(subjects, r...)
				i = next - 1
			case tk.is(i, "BY") && tk.is(i-1, "GRANTED"):
				r, next := roleList(tk, i+1)
				subjects = append(subjects, r...)
				i = next - 1
			case tk.is(i, "TO") || tk.is(i, "FROM"):
				r, next := roleList(tk, i+1)
				grantees = append(grantees, r...)
				i = next - 1
			}
		}
		if on := tk.find(1, "ON"); on < 0 && (tk.is(0, "GRANT") || tk.is(0, "REVOKE")) {
			// GRANT role TO role: the granted roles are subjects
			start := 1
			if tk.is(1, "ADMIN") && tk.is(2, "OPTION") && tk.is(3, "FOR") {
				start = 4
			}
			r, _ := roleList(tk, start)
			subjects = append(subjects, r...)
		}
	default:
		return nil
	}
	badSubject := slices.IndexFunc(subjects, c.roleBad)
	badGrantees := 0
	for _, r := range grantees {
		if c.roleBad(r) {
			badGrantees++
		}
	}
	if badSubject < 0 && badGrantees == 0 {
		return nil
	}
	h := c.whole(false)
	h.e = min(h.e, 200)
	if badSubject >= 0 {
		h.reason = "role " + subjects[badSubject] + " is missing on the target or belongs to a provider"
	} else {
		h.reason = "role " + grantees[slices.IndexFunc(grantees, c.roleBad)] + " is missing on the target or belongs to a provider"
	}
	h.drop = badSubject >= 0 || badGrantees == len(grantees)
	return []hit{h}
}

func checkProviderRole(c *checkCtx) []hit {
	if !pgDDL(c) || !c.t.managed() || !(c.tk.is(0, "CREATE") || c.tk.is(0, "ALTER")) || !(c.tk.is(1, "ROLE") || c.tk.is(1, "USER")) {
		return nil
	}
	role := c.tk.name(2, true)
	if slices.Contains(allProviderRoles, role) && role != "postgres" {
		h := c.tokHit(0, 2)
		h.drop = true
		return []hit{h}
	}
	return nil
}

func checkSuperuserAttributes(c *checkCtx) []hit {
	if !pgDDL(c) || !c.t.managed() || !(c.tk.is(0, "CREATE") || c.tk.is(0, "ALTER")) || !(c.tk.is(1, "ROLE") || c.tk.is(1, "USER")) {
		return nil
	}
	tk := c.tk
	var h hit
	found := false
	for i := 3; i < tk.n(); i++ {
		for _, a := range []string{"SUPERUSER", "REPLICATION", "BYPASSRLS"} {
			if tk.is(i, a) {
				if !found {
					h = c.tokHit(0, min(tk.n()-1, 2))
					found = true
				}
				x := tk.at(i)
				h.edits = append(h.edits, edit{s: x.s, e: x.e, repl: "NO" + a})
			}
		}
	}
	if !found {
		return nil
	}
	return []hit{h}
}

func checkCommentOnExtension(c *checkCtx) []hit {
	if !pgDDL(c) || !c.t.managed() || !(c.tk.is(0, "COMMENT") && c.tk.is(1, "ON") && c.tk.is(2, "EXTENSION")) {
		return nil
	}
	h := c.tokHit(0, min(3, c.tk.n()-1))
	h.drop = true
	return []hit{h}
}

func checkProviderExtension(c *checkCtx) []hit {
	if !pgDDL(c) || !(c.tk.is(0, "CREATE") && c.tk.is(1, "EXTENSION")) {
		return nil
	}
	i := 2
	if c.tk.is(i, "IF") {
		i += 3
	}
	ext := c.tk.name(i, true)
	if slices.Contains(allProviderExtensions, ext) && !slices.Contains(c.t.facts().extensions, ext) {
		h := c.tokHit(0, i)
		h.reason = "extension " + ext + " exists only on another provider"
		return []hit{h}
	}
	return nil
}

// settingSince is the version that introduced each setting pg_dump writes.
var settingSince = map[string]string{
	"transaction_timeout":                 "17",
	"default_table_access_method":         "12",
	"idle_in_transaction_session_timeout": "9.6",
	"row_security":                        "9.5",
	"lock_timeout":                        "9.3",
}

func checkUnknownSetting(c *checkCtx) []hit {
	if !pgDDL(c) || c.t.Version == "" {
		return nil
	}
	tk := c.tk
	var name string
	switch {
	case tk.is(0, "SET"):
		i := 1
		if tk.is(i, "SESSION") || tk.is(i, "LOCAL") {
			i++
		}
		name = tk.name(i, true)
	case tk.is(0, "SELECT") && tk.is(1, "pg_catalog") && tk.punct(2, '.') && tk.is(3, "set_config") && tk.punct(4, '('):
		name = strings.ToLower(tk.name(5, true))
	default:
		return nil
	}
	if v, ok := settingSince[name]; ok && c.t.versionBelow(v) {
		h := c.whole(true)
		h.reason = name + " is unknown before PostgreSQL " + v
		return []hit{h}
	}
	return nil
}

func isMeta(c *checkCtx, cmds ...string) bool {
	if c.st.Kind != KindMeta || c.src != dbaas.Postgres {
		return false
	}
	for _, m := range cmds {
		if hasWordPrefixFold(c.st.Text[1:], m) {
			return true
		}
	}
	return false
}

func checkRestrict(c *checkCtx) []hit {
	if !isMeta(c, "restrict", "unrestrict") {
		return nil
	}
	h := c.whole(true)
	// the key is a nonce, not a secret, but it says nothing useful
	h.e = min(len(c.st.Text), bytes.IndexByte(c.st.Text, ' ')+1)
	return []hit{h}
}

func checkMetaCommand(c *checkCtx) []hit {
	if c.st.Kind != KindMeta || c.src != dbaas.Postgres || isMeta(c, "restrict", "unrestrict", "connect", "c") {
		return nil
	}
	h := c.whole(false)
	h.e = min(h.e, 40)
	return []hit{h}
}

func checkPublicSchema(c *checkCtx) []hit {
	if !pgDDL(c) || !c.t.managed() {
		return nil
	}
	tk := c.tk
	drop := true
	switch {
	case tk.is(0, "CREATE") && tk.is(1, "SCHEMA") && tk.is(2, "public") && tk.punct(3, ';'):
	case tk.is(0, "ALTER") && tk.is(1, "SCHEMA") && tk.is(2, "public") && tk.is(3, "OWNER"):
	case tk.is(0, "COMMENT") && tk.is(1, "ON") && tk.is(2, "SCHEMA") && tk.is(3, "public"):
	case (tk.is(0, "GRANT") || tk.is(0, "REVOKE")) && onSchemaPublic(tk):
		drop = tk.is(0, "GRANT")
	default:
		return nil
	}
	h := c.whole(drop)
	h.e = min(h.e, 120)
	return []hit{h}
}

func onSchemaPublic(tk *tokens) bool {
	on := tk.find(1, "ON")
	return on > 0 && tk.is(on+1, "SCHEMA") && tk.is(on+2, "public") && !tk.punct(on+3, ',')
}

func checkEventTrigger(c *checkCtx) []hit {
	if !pgDDL(c) || !c.t.managed() || !(c.tk.is(0, "CREATE") && c.tk.is(1, "EVENT") && c.tk.is(2, "TRIGGER")) {
		return nil
	}
	return []hit{c.tokHit(0, min(3, c.tk.n()-1))}
}

func checkPublication(c *checkCtx) []hit {
	if !pgDDL(c) || !c.t.managed() || !(c.tk.is(0, "CREATE") || c.tk.is(0, "ALTER")) || !(c.tk.is(1, "PUBLICATION") || c.tk.is(1, "SUBSCRIPTION")) {
		return nil
	}
	// ALTER … OWNER TO is pg-owner's business
	if c.tk.find(2, "OWNER") > 0 {
		return nil
	}
	return []hit{c.tokHit(0, min(2, c.tk.n()-1))}
}
