package dump

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// fuzzRead reads dump whole and in chunks of one byte and checks the
// invariants every reader must keep: no panic, the statements put
// together are the input, and the chunking changes nothing.
func fuzzRead(t *testing.T, dump string, engine dbaas.Engine) {
	t.Helper()
	whole, errWhole := readStatements(dump, engine, 0)
	bytewise, errBytes := readStatements(dump, engine, 1)
	if (errWhole == nil) != (errBytes == nil) {
		t.Fatalf("chunking changes the outcome: %v vs %v", errWhole, errBytes)
	}
	if len(whole) != len(bytewise) {
		t.Fatalf("chunking changes the statements: %d vs %d", len(whole), len(bytewise))
	}
	for i := range whole {
		if whole[i] != bytewise[i] {
			t.Fatalf("statement %d differs with chunking: %q vs %q", i, whole[i], bytewise[i])
		}
	}
	if errWhole == nil {
		var joined strings.Builder
		for _, st := range whole {
			_, text, _ := strings.Cut(st, ":")
			joined.WriteString(text)
		}
		if joined.String() != dump {
			t.Fatalf("statements do not add up to the input")
		}
	}
	r, err := NewReader(strings.NewReader(dump), engine)
	if err != nil {
		return
	}
	var out bytes.Buffer
	_, _ = Rewrite(context.Background(), &out, r, Target{Provider: "aws", Version: "10"})
}

func readStatements(dump string, engine dbaas.Engine, chunk int) ([]string, error) {
	sts, err := collect(dump, engine, chunk)
	out := make([]string, len(sts))
	for i, st := range sts {
		out[i] = st.Kind.String() + ":" + string(st.Text)
	}
	return out, err
}

// smallBuffers shrinks the Reader's buffers for the test so that small
// inputs cross buffer refills and head limits, and fuzzing runs fast.
func smallBuffers(tb testing.TB) {
	tb.Helper()
	old := sizes
	sizes.buf, sizes.head, sizes.dataHead = 2048, 1024, 100
	tb.Cleanup(func() { sizes = old })
}

func FuzzMySQLReader(f *testing.F) {
	smallBuffers(f)
	for _, s := range []string{
		"SELECT 1;\n", "INSERT INTO `t` VALUES (1,'a\\';b'),(2,\"c\");\n", "DELIMITER ;;\nCREATE PROCEDURE p() BEGIN SELECT 1; END;;\nDELIMITER ;\n",
		"/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER t BEFORE INSERT ON x FOR EACH ROW SET @a=1 */;\n",
		"SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ 'a:1-5,\nb:1-9';\n", "-- c\n# d\n/* e */\n", "INSERT INTO t VALUES ('unterminated",
		"CREATE TABLE `t` (`a` int) ENGINE=MyISAM ROW_FORMAT=FIXED COLLATE=utf8mb4_0900_ai_ci;\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		fuzzRead(t, myHeader+body+myTrailer, "")
		fuzzRead(t, body, dbaas.MariaDB)
	})
}

func FuzzPostgresReader(f *testing.F) {
	smallBuffers(f)
	for _, s := range []string{
		"SELECT 1;\n", "COPY public.t (a) FROM stdin;\n1\tx\\\\.\n\\.\n", "CREATE FUNCTION f() RETURNS int AS $_$ SELECT 1; $_$ LANGUAGE sql;\n",
		"SELECT E'a\\';b', 'c''d', \"e;f\", $$g;$$, $1;\n", "\\restrict k\n\\connect x\n", "SELECT /* a /* b */ c */ 1;\n",
		"ALTER TABLE public.t OWNER TO doadmin;\nGRANT SELECT ON t TO rds_superuser;\n", "COPY t FROM stdin;\nnever ends",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		fuzzRead(t, pgHeader+body+pgTrailer, "")
		fuzzRead(t, body, dbaas.Postgres)
	})
}
