package dump_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/agiledeploy/dbaaskit/dump"
)

const exampleDump = `-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
SET @@SESSION.SQL_LOG_BIN= 0;
SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,
5e11fa47-71ca-11e1-9e33-c80aa9429562:1-9';
CREATE TABLE ` + "`notes`" + ` (
  ` + "`id`" + ` int NOT NULL,
  ` + "`body`" + ` text,
  PRIMARY KEY (` + "`id`" + `)
) ENGINE=MyISAM DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;
INSERT INTO ` + "`notes`" + ` VALUES (1,'CREATE DEFINER=\'root\'@\'%\' VIEW v: rows are never changed');
CREATE DEFINER=` + "`root`@`localhost`" + ` PROCEDURE ` + "`count_notes`" + `() SELECT COUNT(*) FROM notes;
-- Dump completed on 2026-01-01 10:00:00
`

func ExampleScan() {
	r, err := dump.NewReader(strings.NewReader(exampleDump), "")
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := dump.Scan(context.Background(), r, dump.Target{Provider: "digitalocean"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range rep.Findings {
		fmt.Printf("line %d %s %s fixable=%v\n", f.Line, f.Rule, f.Severity, f.Fixable)
	}
	// Output:
	// line 2 mysql-sql-log-bin fails fixable=true
	// line 3 mysql-gtid-purged fails fixable=true
	// line 5 mysql-engine fails fixable=true
	// line 11 mysql-definer fails fixable=true
}

func ExampleRewrite() {
	r, err := dump.NewReader(strings.NewReader(exampleDump), "")
	if err != nil {
		fmt.Println(err)
		return
	}
	// MariaDB 10.11 does not know MySQL 8's collations either
	rep, err := dump.Rewrite(context.Background(), os.Stdout, r, dump.Target{Provider: "aws", Engine: "mariadb", Version: "10.11"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("-- %d fixed, %d still failing\n", rep.Fixed(), len(rep.Failing()))
	// Output:
	// -- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
	// CREATE TABLE `notes` (
	//   `id` int NOT NULL,
	//   `body` text,
	//   PRIMARY KEY (`id`)
	// ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
	// INSERT INTO `notes` VALUES (1,'CREATE DEFINER=\'root\'@\'%\' VIEW v: rows are never changed');
	// CREATE PROCEDURE `count_notes`() SELECT COUNT(*) FROM notes;
	// -- Dump completed on 2026-01-01 10:00:00
	// -- 5 fixed, 0 still failing
}
