package dump

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
)

// fragments are pieces of row values that look like what the rules
// change, or like the lexers' delimiters.
var fragments = []string{
	"DEFINER=`root`@`localhost`", "/*!50013 DEFINER=`a`@`%` */", "SET @@GLOBAL.GTID_PURGED='x:1-5';",
	"SET @@SESSION.SQL_LOG_BIN= 0;", "ALTER TABLE public.t OWNER TO doadmin;", "OWNER TO rds_superuser",
	"GRANT ALL ON *.* TO x", "ENGINE=MyISAM", "utf8mb4_0900_ai_ci", ";", ";;", "'", "''", "\"", "`", "\\",
	"\\'", "\n", "\r\n", "\t", "-- ", "#", "/*", "*/", "$$", "$f$", "\\.", "\n\\.\n", "E'", "DELIMITER ;;",
	"\\restrict x", "COPY t FROM stdin;", "\x00", "\x1a", "\xff\xfe", "é", "😀", "plain text ",
}

func randomValue(rng *rand.Rand) string {
	var b strings.Builder
	for n := rng.IntN(6); n >= 0; n-- {
		b.WriteString(fragments[rng.IntN(len(fragments))])
	}
	return b.String()
}

// mysqlEscape quotes s as mysqldump does.
func mysqlEscape(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\\', '\'', '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case 0x1a:
			b.WriteString(`\Z`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// copyEscape writes s as a COPY text field.
func copyEscape(s string) string { return copyEscaper.Replace(s) }

var copyEscaper = strings.NewReplacer("\\", `\\`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "\x00", "")

// pgLiteral quotes s as a standard or an E” string.
func pgLiteral(s string, e bool) string {
	s = strings.ReplaceAll(s, "\x00", "")
	if e {
		return "E'" + strings.NewReplacer("\\", `\\`, "'", `\'`).Replace(s) + "'"
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// ddl are statements the rules rewrite, put between the rows.
var (
	mysqlDDLSamples = []string{
		"CREATE DEFINER=`admin`@`%` PROCEDURE `p`() SELECT 1;\n",
		"/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */\n/*!50001 VIEW `v` AS select 1 AS `1` */;\n",
		"SET @@SESSION.SQL_LOG_BIN= 0;\n",
		"SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ 'a:1-5,\nb:1-9';\n",
		"CREATE TABLE `t` (\n  `id` int NOT NULL,\n  `s` text,\n  PRIMARY KEY (`id`)\n) ENGINE=MyISAM DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci ROW_FORMAT=FIXED;\n",
		"DELIMITER ;;\n/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.s = 'x;y'; END */;;\nDELIMITER ;\n",
	}
	pgDDLSamples = []string{
		"ALTER TABLE public.t OWNER TO doadmin;\n",
		"GRANT SELECT ON TABLE public.t TO rds_superuser;\n",
		"COMMENT ON EXTENSION pgcrypto IS 'cryptographic functions';\n",
		"CREATE FUNCTION public.f() RETURNS text LANGUAGE sql AS $_$ SELECT 'OWNER TO doadmin;' $_$;\n",
		"SET transaction_timeout = 0;\n",
		"\\restrict abc\n",
	}
)

// randomDump writes a dump of the engine with rows of random tricky
// values and rewritable DDL between them.
func randomDump(rng *rand.Rand, pg bool) string {
	var b strings.Builder
	if pg {
		b.WriteString(pgHeader)
	} else {
		b.WriteString(myHeader)
	}
	for n := rng.IntN(12) + 1; n > 0; n-- {
		switch {
		case n > 1 && rng.IntN(3) == 0 && pg:
			b.WriteString(pgDDLSamples[rng.IntN(len(pgDDLSamples))])
		case n > 1 && rng.IntN(3) == 0 && !pg:
			b.WriteString(mysqlDDLSamples[rng.IntN(len(mysqlDDLSamples))])
		case pg && rng.IntN(2) == 0:
			b.WriteString("COPY public.t (id, s) FROM stdin;\n")
			for r := rng.IntN(5); r > 0; r-- {
				fmt.Fprintf(&b, "%d\t%s\n", rng.IntN(1000), copyEscape(randomValue(rng)))
			}
			b.WriteString("\\.\n\n")
		case pg:
			fmt.Fprintf(&b, "INSERT INTO public.t VALUES (%d, %s);\n", rng.IntN(1000), pgLiteral(randomValue(rng), rng.IntN(2) == 0))
		default:
			b.WriteString("INSERT INTO `t` VALUES ")
			for r := rng.IntN(4); r >= 0; r-- {
				fmt.Fprintf(&b, "(%d,%s)", rng.IntN(1000)-500, mysqlEscape(randomValue(rng)))
				if r > 0 {
					b.WriteByte(',')
				}
			}
			b.WriteString(";\n")
		}
	}
	if pg {
		b.WriteString(pgTrailer)
	} else {
		b.WriteString(myTrailer)
	}
	return b.String()
}

// bigDump streams a dump of about size bytes: extended INSERTs of 1 MiB
// for MySQL, COPY blocks for PostgreSQL, with the DDL the rules change
// between tables, as the dump tools write them.
type bigDump struct {
	pg      bool
	size    int64
	written int64
	buf     bytes.Buffer
	rng     *rand.Rand
	table   int
	done    bool
}

func newBigDump(pg bool, size int64) *bigDump {
	d := &bigDump{pg: pg, size: size, rng: rand.New(rand.NewPCG(1, 2))}
	if pg {
		d.buf.WriteString(pgHeader + "SET statement_timeout = 0;\nSET transaction_timeout = 0;\n")
	} else {
		d.buf.WriteString(myHeader + "/*!40101 SET NAMES utf8mb4 */;\nSET @@SESSION.SQL_LOG_BIN= 0;\nSET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ 'a:1-5,\nb:1-9';\n")
	}
	return d
}

var words = strings.Fields("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua OWNER TO doadmin; DEFINER=`x`@`y` it's \"quoted\" back\\slash")

func (d *bigDump) table1() {
	d.table++
	b := &d.buf
	if d.pg {
		fmt.Fprintf(b, "\nCREATE TABLE public.t%d (\n    id integer NOT NULL,\n    name text,\n    n numeric\n);\n\nALTER TABLE public.t%d OWNER TO doadmin;\n\nCOPY public.t%d (id, name, n) FROM stdin;\n", d.table, d.table, d.table)
		for b.Len() < 1<<20 {
			fmt.Fprintf(b, "%d\t", d.rng.IntN(1<<30))
			for w := d.rng.IntN(12) + 2; w > 0; w-- {
				b.WriteString(copyEscape(words[d.rng.IntN(len(words))]))
				b.WriteByte(' ')
			}
			fmt.Fprintf(b, "\t%d.%02d\n", d.rng.IntN(100000), d.rng.IntN(100))
		}
		b.WriteString("\\.\n\n")
		return
	}
	fmt.Fprintf(b, "\nDROP TABLE IF EXISTS `t%d`;\nCREATE TABLE `t%d` (\n  `id` int NOT NULL,\n  `name` text,\n  `n` decimal(10,2),\n  PRIMARY KEY (`id`)\n) ENGINE=MyISAM DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;\nLOCK TABLES `t%d` WRITE;\n", d.table, d.table, d.table)
	fmt.Fprintf(b, "INSERT INTO `t%d` VALUES ", d.table)
	first := true
	for b.Len() < 1<<20 {
		if !first {
			b.WriteByte(',')
		}
		first = false
		var s strings.Builder
		for w := d.rng.IntN(12) + 2; w > 0; w-- {
			s.WriteString(words[d.rng.IntN(len(words))])
			s.WriteByte(' ')
		}
		fmt.Fprintf(b, "(%d,%s,%d.%02d)", d.rng.IntN(1<<30), mysqlEscape(s.String()), d.rng.IntN(100000), d.rng.IntN(100))
	}
	b.WriteString(";\nUNLOCK TABLES;\nCREATE DEFINER=`root`@`localhost` PROCEDURE `p` () SELECT 1;\n")
}

func (d *bigDump) Read(p []byte) (int, error) {
	for d.buf.Len() == 0 {
		if d.done {
			return 0, io.EOF
		}
		if d.written >= d.size {
			d.done = true
			if d.pg {
				d.buf.WriteString(pgTrailer)
			} else {
				d.buf.WriteString(myTrailer)
			}
			break
		}
		d.table1()
	}
	n, _ := d.buf.Read(p)
	d.written += int64(n)
	return n, nil
}
