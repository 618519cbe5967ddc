package dump

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// TestRules runs each rule on the statement forms the dump tools write,
// including forms only MySQL 8's mysqldump and newer pg_dump produce,
// which the machine's servers cannot.
func TestRules(t *testing.T) {
	tests := []struct {
		name   string
		engine dbaas.Engine
		target Target
		in     string
		rules  []string // rule ids found
		out    string   // the rewritten statements; "" means unchanged
	}{
		{"bare DEFINER", dbaas.MySQL, Target{Provider: "aws"},
			"CREATE DEFINER=`admin`@`%` PROCEDURE `p`()\nBEGIN SELECT 1; END ;;\n", []string{"mysql-definer"},
			"CREATE PROCEDURE `p`()\nBEGIN SELECT 1; END ;;\n"},
		{"DEFINER with quotes and no host", dbaas.MySQL, Target{Provider: "aws"},
			"CREATE DEFINER='admin' FUNCTION f() RETURNS int RETURN 1;\n", []string{"mysql-definer"},
			"CREATE FUNCTION f() RETURNS int RETURN 1;\n"},
		{"DEFINER in a comment alone", dbaas.MySQL, Target{Provider: "digitalocean"},
			"/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1 */;\n", []string{"mysql-definer"},
			"/*!50003 CREATE*/ /*!50003 TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1 */;\n"},
		{"DEFINER in a view comment", dbaas.MySQL, Target{Provider: "linode"},
			"/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */\n/*!50001 VIEW `v` AS select 1 AS `1` */;\n", []string{"mysql-definer"},
			"/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 SQL SECURITY DEFINER */\n/*!50001 VIEW `v` AS select 1 AS `1` */;\n"},
		{"DEFINER in a routine body is left alone", dbaas.MySQL, Target{Provider: "aws"},
			"CREATE PROCEDURE p() SELECT 'DEFINER=`x`@`y`';\n", nil, ""},
		{"DEFINER=CURRENT_USER works everywhere", dbaas.MySQL, Target{Provider: "aws"},
			"CREATE DEFINER=CURRENT_USER VIEW v AS SELECT 1;\n", nil, ""},
		{"DEFINER on a self-managed server", dbaas.MySQL, Target{Provider: "self"},
			"CREATE DEFINER=`a`@`b` VIEW v AS SELECT 1;\n", nil, ""},
		{"SQL_LOG_BIN", dbaas.MySQL, Target{Provider: "aws"},
			"SET @MYSQLDUMP_TEMP_LOG_BIN = @@SESSION.SQL_LOG_BIN;\nSET @@SESSION.SQL_LOG_BIN= 0;\nSELECT 1;\n", []string{"mysql-sql-log-bin"},
			"SELECT 1;\n"},
		{"GTID_PURGED over several lines", dbaas.MySQL, Target{Provider: "aws"},
			"SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,\n5e11fa47-71ca-11e1-9e33-c80aa9429562:1-9';\nSELECT 1;\n", []string{"mysql-gtid-purged"},
			"SELECT 1;\n"},
		{"MariaDB gtid_slave_pos", dbaas.MariaDB, Target{Provider: "aws"},
			"SET GLOBAL gtid_slave_pos='0-1-5';\n", []string{"mysql-gtid-purged"}, "-"},
		{"CHANGE REPLICATION SOURCE", dbaas.MySQL, Target{Provider: "azure"},
			"CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='binlog.000002', SOURCE_LOG_POS=157;\nCHANGE MASTER TO MASTER_LOG_FILE='x', MASTER_LOG_POS=4;\n", []string{"mysql-change-master"}, "-"},
		{"commented CHANGE MASTER is a comment", dbaas.MySQL, Target{Provider: "azure"},
			"-- CHANGE MASTER TO MASTER_LOG_FILE='x', MASTER_LOG_POS=4;\n", nil, ""},
		{"0900 collation into MariaDB", dbaas.MySQL, Target{Provider: "aws", Engine: dbaas.MariaDB, Version: "10.11"},
			"/*!50003 SET collation_connection  = utf8mb4_0900_ai_ci */ ;\nCREATE TABLE `t` (\n  `a` varchar(10) COLLATE utf8mb4_0900_bin DEFAULT 'utf8mb4_0900_ai_ci'\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;\nINSERT INTO `t` VALUES ('utf8mb4_0900_ai_ci');\n", []string{"mysql-collation-0900"},
			"/*!50003 SET collation_connection  = utf8mb4_unicode_520_ci */ ;\nCREATE TABLE `t` (\n  `a` varchar(10) COLLATE utf8mb4_bin DEFAULT 'utf8mb4_0900_ai_ci'\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;\nINSERT INTO `t` VALUES ('utf8mb4_0900_ai_ci');\n"},
		{"0900 collation into MySQL 8 is fine", dbaas.MySQL, Target{Provider: "aws", Version: "8.0.36"},
			"CREATE TABLE `t` (a int) COLLATE=utf8mb4_0900_ai_ci;\n", nil, ""},
		{"0900 collation into MySQL 5.7", dbaas.MySQL, Target{Provider: "aws", Version: "5.7"},
			"CREATE TABLE `t` (a int) COLLATE=utf8mb4_0900_ai_ci;\n", []string{"mysql-collation-0900"}, "CREATE TABLE `t` (a int) COLLATE=utf8mb4_unicode_520_ci;\n"},
		{"uca1400 into MySQL", dbaas.MariaDB, Target{Provider: "aws", Engine: dbaas.MySQL},
			"CREATE TABLE `t` (a int) COLLATE=utf8mb4_uca1400_as_cs;\n", []string{"mysql-collation-uca1400"}, "CREATE TABLE `t` (a int) COLLATE=utf8mb4_0900_as_cs;\n"},
		{"sandbox line into MySQL", dbaas.MariaDB, Target{Provider: "self", Engine: dbaas.MySQL},
			"/*M!999999\\- enable the sandbox mode */ \nSELECT 1;\n", []string{"mysql-sandbox"}, "SELECT 1;\n"},
		{"Aria into MySQL fails", dbaas.MariaDB, Target{Provider: "self", Engine: dbaas.MySQL},
			"CREATE TABLE t (id int PRIMARY KEY) ENGINE=Aria DEFAULT CHARSET=utf8mb4 PAGE_CHECKSUM=1 TRANSACTIONAL=1;\n", []string{"mysql-engine"},
			"CREATE TABLE t (id int PRIMARY KEY) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n"},
		{"FEDERATED has no fix", dbaas.MySQL, Target{Provider: "digitalocean"},
			"CREATE TABLE t (id int PRIMARY KEY) ENGINE=FEDERATED CONNECTION='mysql://u@h/db/t';\n", []string{"mysql-engine"}, ""},
		{"no primary key on digitalocean", dbaas.MySQL, Target{Provider: "digitalocean"},
			"CREATE TABLE `t` (\n  `a` int NOT NULL,\n  UNIQUE KEY `u` (`a`)\n) ENGINE=InnoDB;\nCREATE TABLE `k` (`a` int, PRIMARY KEY (`a`)) ENGINE=InnoDB;\n", []string{"mysql-no-primary-key"}, ""},
		{"no primary key on aws is fine", dbaas.MySQL, Target{Provider: "aws"},
			"CREATE TABLE `t` (`a` int) ENGINE=InnoDB;\n", nil, ""},
		{"data and index directory, tablespace", dbaas.MySQL, Target{Provider: "aws"},
			"CREATE TABLE `t` (`a` int PRIMARY KEY) /*!50100 TABLESPACE `ts1` */ ENGINE=InnoDB DATA DIRECTORY='/data/x' INDEX DIRECTORY = '/idx';\nCREATE TABLESPACE ts1 ADD DATAFILE 'ts1.ibd';\n", []string{"mysql-tablespace"},
			"CREATE TABLE `t` (`a` int PRIMARY KEY) ENGINE=InnoDB;\nCREATE TABLESPACE ts1 ADD DATAFILE 'ts1.ibd';\n"},
		{"compressed row format", dbaas.MySQL, Target{Provider: "aiven"},
			"CREATE TABLE `t` (`a` int PRIMARY KEY) ENGINE=InnoDB ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8;\n", []string{"mysql-row-format"},
			"CREATE TABLE `t` (`a` int PRIMARY KEY) ENGINE=InnoDB;\n"},
		{"install plugin", dbaas.MySQL, Target{Provider: "aws"},
			"INSTALL PLUGIN rpl_semi_sync_master SONAME 'semisync_master.so';\nCREATE FUNCTION f RETURNS STRING SONAME 'udf.so';\n", []string{"mysql-install-plugin"}, ""},
		{"system schema and rds objects", dbaas.MySQL, Target{Provider: "digitalocean"},
			"USE `mysql`;\nINSERT INTO `user` VALUES ('x');\nINSERT INTO `mysql`.`db` VALUES ('x');\nCALL mysql.rds_set_configuration('binlog retention hours', 24);\nCREATE TABLE `rds_heartbeat2` (id int PRIMARY KEY);\n", []string{"mysql-rds-object", "mysql-system-schema"}, ""},
		{"privileged grant", dbaas.MySQL, Target{Provider: "aws"},
			"GRANT SUPER, REPLICATION SLAVE ON *.* TO 'r'@'%';\nGRANT ALL PRIVILEGES ON *.* TO 'a'@'%' WITH GRANT OPTION;\nGRANT SELECT ON `db`.* TO 'ok'@'%';\n", []string{"mysql-privileged-grant"}, ""},

		{"OWNER TO another provider's role", dbaas.Postgres, Target{Provider: "aws"},
			"ALTER TABLE public.t OWNER TO doadmin;\nALTER TABLE public.u OWNER TO rds_superuser;\nALTER TABLE public.v OWNER TO app;\n", []string{"pg-owner"},
			"ALTER TABLE public.u OWNER TO rds_superuser;\nALTER TABLE public.v OWNER TO app;\n"},
		{"OWNER TO a role missing on the target", dbaas.Postgres, Target{Provider: "self", Roles: []string{"app"}},
			"ALTER TABLE public.t OWNER TO \"Postgres\";\nALTER TABLE public.v OWNER TO app;\n", []string{"pg-owner"},
			"ALTER TABLE public.v OWNER TO app;\n"},
		{"GRANT and REVOKE with provider roles", dbaas.Postgres, Target{Provider: "digitalocean"},
			"GRANT SELECT ON TABLE public.t TO rds_superuser;\nREVOKE ALL ON TABLE public.t FROM cloudsqlsuperuser;\nGRANT SELECT ON TABLE public.t TO app, azure_pg_admin;\nGRANT rds_superuser TO app;\nALTER DEFAULT PRIVILEGES FOR ROLE avnadmin IN SCHEMA public GRANT SELECT ON TABLES TO app;\nGRANT SELECT ON TABLE public.t TO doadmin;\n", []string{"pg-grant-role"},
			"GRANT SELECT ON TABLE public.t TO app, azure_pg_admin;\nGRANT SELECT ON TABLE public.t TO doadmin;\n"},
		{"GRANT role membership", dbaas.Postgres, Target{Provider: "aws", Roles: []string{"app", "old"}},
			"GRANT old TO app GRANTED BY postgres;\nGRANT old TO app;\n", []string{"pg-grant-role"}, "GRANT old TO app;\n"},
		{"COMMENT ON EXTENSION", dbaas.Postgres, Target{Provider: "aws"},
			"COMMENT ON EXTENSION plpgsql IS 'PL/pgSQL procedural language';\n", []string{"pg-comment-on-extension"}, "-"},
		{"provider-only extension", dbaas.Postgres, Target{Provider: "digitalocean"},
			"CREATE EXTENSION IF NOT EXISTS aws_s3 WITH SCHEMA public;\nCREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public;\n", []string{"pg-provider-extension"}, ""},
		{"provider extension at home", dbaas.Postgres, Target{Provider: "aws"},
			"CREATE EXTENSION IF NOT EXISTS aws_s3 WITH SCHEMA public;\n", nil, ""},
		{"transaction_timeout into 16", dbaas.Postgres, Target{Provider: "self", Version: "16"},
			"SET transaction_timeout = 0;\nSET lock_timeout = 0;\nSELECT pg_catalog.set_config('transaction_timeout', '0', false);\n", []string{"pg-unknown-setting"},
			"SET lock_timeout = 0;\n"},
		{"transaction_timeout into 17 is fine", dbaas.Postgres, Target{Provider: "self", Version: "17"},
			"SET transaction_timeout = 0;\n", nil, ""},
		{"public schema", dbaas.Postgres, Target{Provider: "aws"},
			"CREATE SCHEMA public;\nALTER SCHEMA public OWNER TO pg_database_owner;\nCOMMENT ON SCHEMA public IS 'standard public schema';\nGRANT USAGE ON SCHEMA public TO app;\nREVOKE USAGE ON SCHEMA public FROM PUBLIC;\nCREATE SCHEMA app;\n", []string{"pg-public-schema"},
			"REVOKE USAGE ON SCHEMA public FROM PUBLIC;\nCREATE SCHEMA app;\n"},
		{"meta commands", dbaas.Postgres, Target{Provider: "self"},
			"\\restrict k3y\n\\connect -reuse-previous=on \"dbname='x'\"\n\\! rm -rf /\n\\unrestrict k3y\n", []string{"pg-meta-command", "pg-restrict"},
			"\\connect -reuse-previous=on \"dbname='x'\"\n\\! rm -rf /\n"},
		{"event trigger and publications", dbaas.Postgres, Target{Provider: "aws"},
			"CREATE EVENT TRIGGER e ON ddl_command_end EXECUTE FUNCTION f();\nCREATE PUBLICATION p FOR ALL TABLES;\nCREATE SUBSCRIPTION s CONNECTION 'host=old' PUBLICATION p WITH (connect = false);\n", []string{"pg-event-trigger", "pg-publication"}, ""},
		{"superuser attributes", dbaas.Postgres, Target{Provider: "azure"},
			"ALTER ROLE app WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS;\nCREATE ROLE linpostgres;\n", []string{"pg-provider-role", "pg-superuser-attributes"},
			"ALTER ROLE app WITH NOSUPERUSER INHERIT CREATEROLE CREATEDB LOGIN NOREPLICATION NOBYPASSRLS;\n"},
		{"words in COPY rows and strings are data", dbaas.Postgres, Target{Provider: "aws", Version: "12"},
			"COPY public.t (s) FROM stdin;\nALTER TABLE public.t OWNER TO doadmin;\n\\restrict x\n\\.\nSELECT 'ALTER TABLE x OWNER TO doadmin;';\n", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			head, tail := myHeader, myTrailer
			if tc.engine == dbaas.Postgres {
				head, tail = pgHeader, pgTrailer
			}
			in := head + tc.in + tail
			r, err := NewReader(strings.NewReader(in), tc.engine)
			require.NoError(t, err)
			if tc.engine != dbaas.Postgres {
				// the header does not tell, the test does
				r.engine = tc.engine
			}
			var out bytes.Buffer
			rep, err := Rewrite(context.Background(), &out, r, tc.target)
			require.NoError(t, err)
			assert.Equal(t, tc.rules, ruleIDs(rep.Findings), "findings: %v", rep.Findings)
			want := tc.out
			switch want {
			case "":
				want = tc.in
			case "-":
				want = ""
			}
			assert.Equal(t, head+want+tail, out.String())
			for _, f := range rep.Findings {
				assert.NotEmpty(t, f.Excerpt)
				assert.Positive(t, f.Line)
				assert.Equal(t, f.Fixable, f.Fixed, "Rewrite applies every fix: %v", f)
			}
		})
	}
}

func TestRulesCatalogue(t *testing.T) {
	ids := map[string]bool{}
	for _, r := range Rules() {
		assert.False(t, ids[r.ID], "duplicate rule %s", r.ID)
		ids[r.ID] = true
		assert.NotEmpty(t, r.Match, r.ID)
		assert.NotEmpty(t, r.Reason, r.ID)
		assert.NotEmpty(t, r.Targets, r.ID)
		assert.Contains(t, []string{"mysql", "postgres"}, r.Dialect, r.ID)
		assert.Contains(t, []Severity{Fails, ChangesBehaviour}, r.Severity, r.ID)
		assert.NotNil(t, r.check, r.ID)
	}
	b, err := RulesJSON()
	require.NoError(t, err)
	var back []map[string]any
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Len(t, back, len(Rules()))
	assert.Equal(t, "fails", back[0]["severity"])
}

func TestTargetValidation(t *testing.T) {
	tests := []struct {
		target Target
		msg    string
	}{
		{Target{}, `target provider ""`},
		{Target{Provider: "heroku"}, `target provider "heroku": want one of aiven, aws`},
		{Target{Provider: "aws", Engine: "oracle"}, `target engine "oracle"`},
		{Target{Provider: "aws", Engine: dbaas.Postgres}, "a mysql dump cannot be imported into postgres"},
		{Target{Provider: "aws", Version: "eight"}, `target version "eight"`},
	}
	for _, tc := range tests {
		r, err := NewReader(strings.NewReader(myHeader+"SELECT 1;\n"+myTrailer), "")
		require.NoError(t, err)
		_, err = Scan(context.Background(), r, tc.target)
		require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
		assert.Contains(t, err.Error(), tc.msg)
	}
}

// TestDroppedStatementNoLongerFails checks that a statement one rule's fix
// removes is not reported failing by another rule that has no fix of its
// own: what Rewrite writes imports, so nothing is left failing.
func TestDroppedStatementNoLongerFails(t *testing.T) {
	in := pgHeader + "REVOKE ALL ON SCHEMA public FROM rdsadmin;\nGRANT ALL ON SCHEMA public TO PUBLIC;\nREVOKE ALL ON SCHEMA public FROM PUBLIC;\n" + pgTrailer
	tests := []struct {
		name    string
		rewrite bool
	}{{"scan", false}, {"rewrite", true}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(in), "")
			require.NoError(t, err)
			var out bytes.Buffer
			var rep *Report
			if tc.rewrite {
				rep, err = Rewrite(context.Background(), &out, r, Target{Provider: "digitalocean"})
			} else {
				rep, err = Scan(context.Background(), r, Target{Provider: "digitalocean"})
			}
			require.NoError(t, err)
			require.Len(t, rep.Findings, 4)
			for i, f := range rep.Findings {
				// only the last REVOKE stays: no rule removes it and it
				// has no safe fix, as it would leave the schema more open
				assert.Equal(t, i < 3, f.Fixable, "%v", f)
				assert.Equal(t, tc.rewrite && i < 3, f.Fixed, "%v", f)
			}
			if tc.rewrite {
				require.Len(t, rep.Failing(), 1)
				assert.Equal(t, 7, rep.Failing()[0].Line)
			}
			if tc.rewrite {
				assert.Equal(t, pgHeader+"REVOKE ALL ON SCHEMA public FROM PUBLIC;\n"+pgTrailer, out.String())
			}
		})
	}
}
