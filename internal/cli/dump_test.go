package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	dumpHeader  = "-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n"
	dumpTrailer = "-- Dump completed on 2026-01-01 10:00:00\n"
	dumpBody    = "SET @@SESSION.SQL_LOG_BIN= 0;\nCREATE DEFINER=`root`@`localhost` VIEW `v` AS SELECT 1;\nINSERT INTO `t` VALUES (1,'DEFINER=`root`@`localhost`;');\n"
	dumpFixed   = "CREATE VIEW `v` AS SELECT 1;\nINSERT INTO `t` VALUES (1,'DEFINER=`root`@`localhost`;');\n"
)

func TestDumpCheck(t *testing.T) {
	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"failing statements", dumpHeader + dumpBody + dumpTrailer, []string{"dump", "check", "-", "--target", "aws"}, exitFailure,
			[]string{"line 2: fails: mysql-sql-log-bin", "line 3: fails: mysql-definer", "mysqldump dump (mysql) for aws: 3 statements, 2 findings, 0 fixed, 2 failing"},
			"dbaas: 2 statements will fail on aws (2 fixable with 'dbaas dump fix')\n"},
		{"clean dump", dumpHeader + "SELECT 1;\n" + dumpTrailer, []string{"dump", "check", "-", "--target", "digitalocean"}, exitOK,
			[]string{"mysqldump dump (mysql) for digitalocean: 1 statements, 0 findings"}, ""},
		{"self-managed target takes it all", dumpHeader + dumpBody + dumpTrailer, []string{"dump", "check", "-", "--target", "self"}, exitOK, nil, ""},
		{"truncated dump", dumpHeader + dumpBody, []string{"dump", "check", "-", "--target", "aws"}, exitInvalid, nil,
			"dbaas: dump -: dump line 5: the dump ends without the \"-- Dump completed\" trailer mysqldump writes last\n"},
		{"not a dump", "\x7fELF\x02\x01", []string{"dump", "check", "-", "--target", "aws"}, exitInvalid, nil, "dbaas: dump -: dump line 1: binary data (control byte 0x7f in the first line): not a SQL dump\n"},
		{"missing target", dumpHeader, []string{"dump", "check", "-"}, exitUsage, nil, "dbaas: required flag(s) \"target\" not set: see 'dbaas --help'\n"},
		{"unknown target", dumpHeader, []string{"dump", "check", "-", "--target", "heroku"}, exitUsage, nil, "dbaas: --target \"heroku\": want one of aiven, aws, azure, cloudsql, digitalocean, exoscale, linode, self, vultr\n"},
		{"engine the dump cannot go to", dumpHeader + dumpTrailer, []string{"dump", "check", "-", "--target", "aws", "--target-engine", "postgres"}, exitUsage, nil,
			"dbaas: target engine postgres: a mysql dump cannot be imported into postgres: invalid argument\n"},
		{"missing file", "", []string{"dump", "check", "/nonexistent/x.sql", "--target", "aws"}, exitUsage, nil, "dbaas: dump /nonexistent/x.sql: open /nonexistent/x.sql: no such file or directory\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newCLI(t).runIn(tc.stdin, tc.args...)
			assert.Equal(t, tc.code, r.code, r.stderr)
			for _, s := range tc.stdout {
				assert.Contains(t, r.stdout, s)
			}
			assert.Equal(t, tc.stderr, r.stderr)
		})
	}
}

func TestDumpCheckJSON(t *testing.T) {
	r := newCLI(t).runIn(dumpHeader+dumpBody+dumpTrailer, "dump", "check", "-", "--target", "aws", "-o", "json")
	assert.Equal(t, exitFailure, r.code)
	var rep struct {
		Format   string
		Findings []struct {
			Rule     string
			Line     int
			Severity string
			Fixable  bool
		}
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), r.stdout)
	assert.Equal(t, "mysqldump", rep.Format)
	require.Len(t, rep.Findings, 2)
	assert.Equal(t, "mysql-definer", rep.Findings[1].Rule)
	assert.Equal(t, 3, rep.Findings[1].Line)
	assert.Equal(t, "fails", rep.Findings[1].Severity)
	assert.True(t, rep.Findings[1].Fixable)
	assert.Contains(t, r.stderr, `"exit_code":1`)
}

func TestDumpFixToFile(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "app.sql"), filepath.Join(dir, "app.fixed.sql")
	require.NoError(t, os.WriteFile(in, []byte(dumpHeader+dumpBody+dumpTrailer), 0o600))
	r := newCLI(t).run("dump", "fix", in, "--target", "linode", "--out", out)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "2 findings, 2 fixed, 0 failing")
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, dumpHeader+dumpFixed+dumpTrailer, string(got))

	// a truncated dump leaves the previous output in place
	require.NoError(t, os.WriteFile(in, []byte(dumpHeader+dumpBody), 0o600))
	r = newCLI(t).run("dump", "fix", in, "--target", "linode", "--out", out)
	assert.Equal(t, exitInvalid, r.code)
	got, err = os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, dumpHeader+dumpFixed+dumpTrailer, string(got))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "no temporary file is left")
}

func TestDumpFixToStdout(t *testing.T) {
	r := newCLI(t).runIn(dumpHeader+dumpBody+dumpTrailer, "dump", "fix", "-", "--target", "aws", "--out", "-")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, dumpHeader+dumpFixed+dumpTrailer, r.stdout)
	assert.Contains(t, r.stderr, "2 fixed, 0 failing")
}

func TestDumpFixStillFailing(t *testing.T) {
	body := "CREATE TABLE `t` (`a` int) ENGINE=InnoDB;\nCREATE DEFINER=`a`@`b` VIEW v AS SELECT 1;\n"
	dir := t.TempDir()
	out := filepath.Join(dir, "fixed.sql")
	r := newCLI(t).runIn(dumpHeader+body+dumpTrailer, "dump", "fix", "-", "--target", "digitalocean", "--out", out)
	assert.Equal(t, exitFailure, r.code)
	assert.Equal(t, "dbaas: fixed 1, but 1 statements still fail on digitalocean: they have no safe fix\n", r.stderr)
	assert.Contains(t, r.stdout, "fails: mysql-no-primary-key")
	_, err := os.Stat(out)
	assert.NoError(t, err, "the fixed dump is written: the rest is for a person to decide")

	r = newCLI(t).run("dump", "fix", "-", "--target", "aws")
	assert.Equal(t, exitUsage, r.code)
	assert.Equal(t, "dbaas: --out is required: a file, or - for stdout\n", r.stderr)
}

func TestDumpRules(t *testing.T) {
	out := newCLI(t).ok("dump", "rules")
	for _, id := range []string{"mysql-definer", "mysql-gtid-purged", "pg-owner", "pg-restrict"} {
		assert.Contains(t, out, id)
	}
	var rules []map[string]any
	require.NoError(t, json.Unmarshal([]byte(newCLI(t).ok("dump", "rules", "-o", "json")), &rules))
	assert.Greater(t, len(rules), 20)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	assert.Len(t, lines, len(rules)+1, "a header and a line per rule")
}
