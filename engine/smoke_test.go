package engine

import (
	"testing"

	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/state"
)

func TestSmokeBackupPostgresLocal(t *testing.T) {
	srv := dbtest.Postgres(t)
	h := newHarness(t)
	h.addLocalProvider("local")
	db := srv.CreateDB(t, "smoke")
	srv.Exec(t, db, "CREATE TABLE t (id int primary key, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1,1000) g;")
	c := h.addConnection("pg", srv, "")
	d := h.addDatabase(c, db)
	b := h.runBackup(c, d, nil)
	if b.Status != state.StatusSuccess {
		t.Fatalf("status %s; log:\n%s", b.Status, b.LogOutput)
	}
	t.Logf("backup %+v", b)
}
