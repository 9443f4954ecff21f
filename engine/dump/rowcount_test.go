package dump

import (
	"bytes"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/jagad/jagad/engine/dbclient"

	"github.com/jagad/jagad/state/logbuf"
)

// rowcountDump is a mariadb-dump stream shaped like the real one, with the
// traps a naive counter falls into.
const rowcountDump = "/*M!999999\\- enable the sandbox mode */ \n" +
	"-- MariaDB dump 10.19\n" +
	"DROP TABLE IF EXISTS `we``ird`;\n" +
	"CREATE TABLE `we``ird` (\n  `id` int(11) NOT NULL,\n  `v` text COMMENT 'INSERT INTO `x` VALUES (1);'\n);\n" +
	"LOCK TABLES `we``ird` WRITE;\n" +
	"INSERT INTO `we``ird` VALUES (1,'a\\'b\\\\','),(x);'),(2,NULL),(3,'it''s'),\n(4,'\\0\xff\\'\\\\\\''),(5,'\\nINSERT INTO `we``ird` VALUES (9);');\n" +
	"INSERT INTO `we``ird` VALUES\n(6,'multi'),\n(7,'line');\n" +
	"UNLOCK TABLES;\n" +
	"LOCK TABLES `empty` WRITE;\nUNLOCK TABLES;\n" +
	"DELIMITER ;;\n" +
	"/*!50003 CREATE*/ /*!50003 TRIGGER tr BEFORE INSERT ON t FOR EACH ROW\n" +
	"INSERT INTO `we``ird` VALUES (8,'trigger body') */;;\n" +
	"DELIMITER ;\n" +
	"INSERT INTO `nums` VALUES (1,2.5,-3,NULL,0x00FF),(2,1e3,4,5,6);\n" +
	"INSERT INTO `versioned` VALUES (1),(2);\n" + // not a listed table: not counted
	"INSERT INTO `nums` (`a`, `b(x)`, `c``)`) VALUES (3,_binary '\\0',NULL),\n(4,NULL,NULL);\n" +
	"DELIMITER ;;\n" +
	"CREATE PROCEDURE `p`()\nbegin\nINSERT INTO `nums` VALUES (1);\nend\n;;\n" +
	"DELIMITER ;\n" +
	"-- Dump completed on 2026-11-27 14:26:45\n"

var rowcountWant = map[string]int64{"we`ird": 7, "empty": 0, "nums": 4}

func TestRowCounterChunking(t *testing.T) {
	tables := []string{"we`ird", "empty", "nums"}
	count := func(chunks ...[]byte) (map[string]int64, error) {
		c := newRowCounter(tables)
		for _, ch := range chunks {
			if n, err := c.Write(ch); n != len(ch) || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
		}
		return c.result()
	}
	in := []byte(rowcountDump)
	got, err := count(in)
	if err != nil || !maps.Equal(got, rowcountWant) {
		t.Fatalf("whole stream: %v, %v; want %v", got, err, rowcountWant)
	}
	for i := range in { // every split point
		got, err := count(in[:i], in[i:])
		if err != nil || !maps.Equal(got, rowcountWant) {
			t.Fatalf("split at %d (%q|%q): %v, %v", i, in[max(0, i-8):i], in[i:min(len(in), i+8)], got, err)
		}
	}
	var bytewise [][]byte
	for i := range in {
		bytewise = append(bytewise, in[i:i+1])
	}
	if got, err := count(bytewise...); err != nil || !maps.Equal(got, rowcountWant) {
		t.Fatalf("byte by byte: %v, %v", got, err)
	}
}

// TestRowCounterRowEnd: rows whose first ')' is inside a string, after an
// escape or next to a '(' are followed byte by byte, the others jump to
// their ')' (rowEnd), and both give the same count at every split point.
func TestRowCounterRowEnd(t *testing.T) {
	in := []byte("INSERT INTO `t` VALUES (1,')'),(2,'('),(3,'a''b)'),(4,'x\\')'),(5,NULL),\n(6,'))'),(7,''),(8,')(');\n" +
		"INSERT INTO `t` VALUES (9,'a'),(10,'b\\\\'),(11,')'),(12,'it''s',0x29);\n")
	for _, row := range []string{"1,')'", "2,'('", "3,'a''b)'", "4,'x\\')'", "6,'))'", "8,')('", "10,'b\\\\'"} {
		if j := rowEnd([]byte(row + "),(")); j >= 0 {
			t.Errorf("rowEnd(%q) = %d, want -1 (the loop must follow it)", row, j)
		}
	}
	for _, row := range []string{"5,NULL", "7,''", "9,'a'", "12,'it''s',0x29"} {
		if j := rowEnd([]byte(row + "),(")); j != len(row) {
			t.Errorf("rowEnd(%q) = %d, want %d", row, j, len(row))
		}
	}
	for i := range in {
		c := newRowCounter([]string{"t"})
		_, _ = c.Write(in[:i])
		_, _ = c.Write(in[i:])
		if got, err := c.result(); err != nil || got["t"] != 12 {
			t.Fatalf("split at %d: %v, %v; want 12 rows", i, got, err)
		}
	}
}

func TestRowCounterRefusesWhatItCannotFollow(t *testing.T) {
	for name, in := range map[string]string{
		"two column lists": "INSERT INTO `t` (`a`) (`b`) VALUES (1);\n",
		"no VALUES":        "INSERT INTO `t` SELECT 1;\n",
		"unclosed columns": "INSERT INTO `t` (`a`\n",
		"ends in a row":    "INSERT INTO `t` VALUES (1,'abc",
		"ends in a string": "INSERT INTO `t` VALUES (1,'abc\\",
		"garbage between":  "INSERT INTO `t` VALUES (1) x (2);\n",
		"nested":           "INSERT INTO `t` VALUES (1,(2));\n",
	} {
		t.Run(name, func(t *testing.T) {
			c := newRowCounter([]string{"t"})
			_, _ = c.Write([]byte(in))
			if got, err := c.result(); err == nil {
				t.Fatalf("counts %v, want an error", got)
			}
		})
	}
}

// TestRowCountsAgainstServer dumps tables full of values that look like
// SQL (quotes, backslashes, parentheses, semicolons, binary bytes, a
// trigger and a procedure inserting rows) and compares the counts taken
// from the stream with COUNT(*) on the server.
func TestRowCountsAgainstServer(t *testing.T) {
	for _, f := range flavours[1:] {
		t.Run(f.dbType, func(t *testing.T) {
			s := f.server(t)
			ctx := testCtx(t)
			db := s.CreateDB(t, "rows")
			var q strings.Builder
			q.WriteString("CREATE TABLE `tr``icky` (id int PRIMARY KEY, v text, b blob);\n")
			q.WriteString("CREATE TABLE empty_t (id int);\nCREATE TABLE nums (a int, b double, c decimal(10,2), d int AS (a * 2) VIRTUAL);\n")
			for i := range 2000 {
				v := []string{`'),(x);`, `\`, `\'`, "line\nINSERT INTO `tr``icky` VALUES (1);", `''`, `ü€`, ``}[i%7]
				v = strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(v)
				fmt.Fprintf(&q, "INSERT INTO `tr``icky` VALUES (%d, '%s', UNHEX('%02x5c27282900'));\n", i, v, i%256)
				fmt.Fprintf(&q, "INSERT INTO nums (a, b, c) VALUES (%d, %d.5, -%d.25);\n", i, i, i)
			}
			q.WriteString("INSERT INTO `tr``icky` VALUES (99999, NULL, NULL);\n")
			s.Exec(t, db, q.String())
			s.Exec(t, db, "CREATE TRIGGER trg BEFORE INSERT ON empty_t FOR EACH ROW INSERT INTO nums (a, b, c) VALUES (1, 2, 3)")
			s.Exec(t, db, "CREATE PROCEDURE p() INSERT INTO `tr``icky` VALUES (-1, 'proc', NULL)")
			// Tables a drill does not count after its restore: a system-versioned
			// table (dumped with INSERTs) and a MERGE table (dumped without).
			s.Exec(t, db, "CREATE TABLE hist (a int) WITH SYSTEM VERSIONING; INSERT INTO hist VALUES (1), (2);"+
				"CREATE TABLE part1 (a int) ENGINE=MyISAM; INSERT INTO part1 VALUES (1), (2), (3);"+
				"CREATE TABLE merged (a int) ENGINE=MRG_MyISAM UNION=(part1) INSERT_METHOD=LAST;")

			want, err := dbclient.TableCounts(ctx, target(s, f.dbType, db), db)
			if err != nil {
				t.Fatal(err)
			}
			log := &logbuf.Buffer{}
			res, err := Dump(ctx, target(s, f.dbType, db), Tools{}, &bytes.Buffer{}, log)
			if err != nil {
				t.Fatalf("dump: %v\n%s", err, log)
			}
			_, hist := want["hist"]
			_, merged := want["merged"]
			if !maps.Equal(res.Tables, want) || want["tr`icky"] != 2001 || want["empty_t"] != 0 || want["part1"] != 3 || hist || merged {
				t.Fatalf("counts from the stream %v, COUNT(*) %v", res.Tables, want)
			}
			if strings.Contains(log.String(), "COUNT(*) after the dump") {
				t.Fatalf("the stream counter gave up:\n%s", log)
			}
		})
	}
}

func BenchmarkRowCounter(b *testing.B) {
	var dump bytes.Buffer
	for dump.Len() < 64<<20 {
		dump.WriteString("INSERT INTO `t` VALUES ")
		for i := range 500 {
			if i > 0 {
				dump.WriteString(",\n")
			}
			fmt.Fprintf(&dump, "(%d,'2026-11-27 14:%02d:00',%d.%02d,'Lorem ipsum dolor sit amet, it\\'s \\\\ a (test); of %d',NULL)", i, i%60, i*7, i%100, i)
		}
		dump.WriteString(";\n")
	}
	in := dump.Bytes()
	b.Run("baseline=bytes.Count", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			_ = bytes.Count(in, []byte("'"))
		}
	})
	b.Run("rowCounter", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			c := newRowCounter([]string{"t"})
			for p := in; len(p) > 0; p = p[min(len(p), 256<<10):] {
				_, _ = c.Write(p[:min(len(p), 256<<10)])
			}
			if _, err := c.result(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
