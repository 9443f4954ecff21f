package dump

import (
	"bytes"
	"maps"
	"strings"
	"testing"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dbtest"

	"github.com/jagad/jagad/state/logbuf"
)

// TestRoundTrip dumps a fixture with every kind of object, restores it into
// a database that does not exist yet, and compares content checksums; then
// restores again over the restored copy (--clean / DROP TABLE IF EXISTS).
func TestRoundTrip(t *testing.T) {
	for _, f := range flavours {
		t.Run(f.dbType, func(t *testing.T) {
			s := f.server(t)
			ctx := testCtx(t)
			src := s.CreateDB(t, "src")
			loadFixture(t, s, src)
			want := s.Checksum(t, src)
			if len(want) < 5 {
				t.Fatalf("fixture checksum covers %d tables: %v", len(want), want)
			}

			var out bytes.Buffer
			log := &logbuf.Buffer{}
			res, err := Dump(ctx, target(s, f.dbType, src), Tools{}, &out, log)
			if err != nil {
				t.Fatalf("dump: %v\nlog:\n%s", err, log)
			}
			checkResult(t, f, res, out.Len())
			if err := CheckReadable(ctx, f.dbType, Tools{}, bytes.NewReader(out.Bytes())); err != nil {
				t.Fatalf("CheckReadable of a good dump: %v", err)
			}

			dst := freshName(t, s, "dst_")
			for i := range 2 {
				if err := Restore(ctx, target(s, f.dbType, dst), Tools{}, RestoreOptions{}, bytes.NewReader(out.Bytes()), log); err != nil {
					t.Fatalf("restore #%d: %v\nlog:\n%s", i+1, err, log)
				}
				if got := s.Checksum(t, dst); !maps.Equal(got, want) {
					t.Fatalf("restore #%d: checksums differ\n got %v\nwant %v", i+1, got, want)
				}
			}
			checkObjects(t, s, dst)
			if s.Password != "" && strings.Contains(log.String(), s.Password) {
				t.Fatalf("log contains the password:\n%s", log)
			}
			for _, line := range []string{"DUMP: " + f.dbType + " " + src + " started", "bytes uncompressed", "RESTORE: created database", "RESTORE: OK"} {
				if !strings.Contains(log.String(), line) {
					t.Errorf("log lacks %q:\n%s", line, log)
				}
			}
		})
	}
}

func checkResult(t *testing.T, f flavour, res Result, n int) {
	t.Helper()
	if !strings.HasPrefix(res.ToolVersion, f.tool) {
		t.Errorf("ToolVersion = %q, want the %s tool", res.ToolVersion, f.tool)
	}
	if res.ServerVersion == "" || res.Bytes != int64(n) || n < 5<<20 {
		t.Errorf("result %+v, %d bytes written; want server version and ≥ 5 MiB", res, n)
	}
	wantTables := map[string]int64{"customers": 3, "orders": 3, "audit": 3, "big": 1, "Mixed Case": 2}
	if f.dbType == dbclient.PostgreSQL {
		wantTables = map[string]int64{"public.customers": 3, "public.orders": 3, "public.audit": 3,
			"public.big": 1, "other schema.Mixed Case": 2}
	}
	if !maps.Equal(res.Tables, wantTables) {
		t.Errorf("Tables = %v, want %v", res.Tables, wantTables)
	}
}

// checkObjects proves the view, function, procedure, trigger and sequences
// came back and work.
func checkObjects(t *testing.T, s *dbtest.Server, db string) {
	t.Helper()
	conn := s.DB(t, db)
	var total, taxed string
	if err := conn.QueryRow("SELECT total FROM customer_totals WHERE id = 1").Scan(&total); err != nil || !strings.HasPrefix(total, "100012.49") {
		t.Fatalf("view: total=%q err=%v", total, err)
	}
	if err := conn.QueryRow("SELECT add_tax(10)").Scan(&taxed); err != nil || !strings.HasPrefix(taxed, "12") {
		t.Fatalf("function: %q %v", taxed, err)
	}
	var before, after, id int64
	_ = conn.QueryRow("SELECT COUNT(*) FROM audit").Scan(&before)
	ins := "INSERT INTO orders (customer_id, amount) VALUES (2, 1)"
	if s.DBType == dbclient.PostgreSQL {
		if err := conn.QueryRow(ins + " RETURNING id").Scan(&id); err != nil {
			t.Fatalf("insert after restore: %v", err)
		}
	} else {
		r, err := conn.Exec(ins)
		if err != nil {
			t.Fatalf("insert after restore: %v", err)
		}
		id, _ = r.LastInsertId()
	}
	if id != 4 {
		t.Errorf("new order id = %d, want 4 (sequence/auto_increment restored)", id)
	}
	_ = conn.QueryRow("SELECT COUNT(*) FROM audit").Scan(&after)
	if after != before+1 {
		t.Errorf("trigger: audit rows %d → %d, want +1", before, after)
	}
	if s.DBType != dbclient.PostgreSQL {
		var n int
		if err := conn.QueryRow("SELECT COUNT(*) FROM information_schema.routines WHERE routine_schema = ? AND routine_name = 'count_orders'", db).Scan(&n); err != nil || n != 1 {
			t.Errorf("procedure count_orders: n=%d err=%v", n, err)
		}
	}
}

// TestHostileDatabaseNames dumps and restores databases whose names look
// like options or contain quotes and connection-string syntax.
func TestHostileDatabaseNames(t *testing.T) {
	cases := []struct {
		dbType   string
		server   func(testing.TB) *dbtest.Server
		src, dst string
	}{
		{dbclient.PostgreSQL, dbtest.Postgres, "-evil", `a"b' host=203.0.113.1 dbname=`},
		{dbclient.PostgreSQL, dbtest.Postgres, "--help", "-fx"},
		{dbclient.MariaDB, dbtest.MariaDB, "-evil", "a\"b'`c"},
		{dbclient.MySQL, dbtest.MariaDB, "--help", "-e"},
	}
	for _, tc := range cases {
		t.Run(tc.dbType+"/"+tc.src, func(t *testing.T) {
			s := tc.server(t)
			ctx := testCtx(t)
			src := s.CreateDB(t, tc.src)
			s.Exec(t, src, "CREATE TABLE t (id int PRIMARY KEY, v varchar(20)); INSERT INTO t VALUES (1, 'one'), (2, NULL);")
			var out bytes.Buffer
			if _, err := Dump(ctx, target(s, tc.dbType, src), Tools{}, &out, nil); err != nil {
				t.Fatalf("dump %q: %v", src, err)
			}
			dst := freshName(t, s, tc.dst)
			if err := Restore(ctx, target(s, tc.dbType, dst), Tools{}, RestoreOptions{}, &out, nil); err != nil {
				t.Fatalf("restore into %q: %v", dst, err)
			}
			if got, want := s.Checksum(t, dst), s.Checksum(t, src); !maps.Equal(got, want) || len(got) != 1 {
				t.Fatalf("checksums %v, want %v", got, want)
			}
		})
	}
}
