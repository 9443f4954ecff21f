package dump

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dbtest"
)

// TestPostgresCountsMatchDumpedData: rows committed after the counts were
// taken — here, the moment pg_dump starts — are in neither the counts nor
// the dump, because pg_dump dumps the snapshot the counts were taken in.
func TestPostgresCountsMatchDumpedData(t *testing.T) {
	s := dbtest.Postgres(t)
	db := s.CreateDB(t, "snap")
	s.Exec(t, db, "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 100);")
	ctx := withPIDHook(testCtx(t), func(int) {
		s.Exec(t, db, "INSERT INTO t SELECT generate_series(101, 150);")
	})
	var out bytes.Buffer
	res, err := Dump(ctx, target(s, dbclient.PostgreSQL, db), Tools{}, &out, nil)
	if err != nil {
		t.Fatalf("dump: %v", err)
	}
	if got := res.Tables["public.t"]; got != 100 {
		t.Fatalf("counted %d rows, want 100 (counted before the insert)", got)
	}
	restored := freshName(t, s, "snaprest")
	if err := Restore(testCtx(t), target(s, dbclient.PostgreSQL, restored), Tools{}, RestoreOptions{}, &out, nil); err != nil {
		t.Fatalf("restore: %v", err)
	}
	counts, err := dbclient.TableCounts(testCtx(t), s.Target(restored), restored)
	if err != nil {
		t.Fatal(err)
	}
	if counts["public.t"] != res.Tables["public.t"] {
		t.Fatalf("dump holds %d rows but the counts say %d", counts["public.t"], res.Tables["public.t"])
	}
	if live, _ := dbclient.TableCounts(testCtx(t), s.Target(db), db); live["public.t"] != 150 {
		t.Fatalf("the insert did not happen: %v", fmt.Sprint(live))
	}
}
