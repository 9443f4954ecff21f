package engine

import (
	"strings"
	"testing"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/state"
)

// TestRestoreDataOnly: a data-only restore of a PostgreSQL backup fills the
// existing, empty tables of the target (nothing is dropped: a table the dump
// lacks is kept) and records its type; a second one conflicts with the rows
// and fails as a whole, leaving the target as it was.
func TestRestoreDataOnly(t *testing.T) {
	srv := rsServer(t, dbclient.PostgreSQL)
	h := newHarness(t)
	h.addLocalProvider("local")
	src := rsSmall(t, srv, "dataonly", 2000)
	want := srv.Checksum(t, src)
	c := h.addConnection("pg", srv, "")
	b := h.runBackup(c, h.addDatabase(c, src), nil)
	if b.Status != state.StatusSuccess {
		t.Fatalf("backup %s:\n%s", b.Status, b.LogOutput)
	}
	target := srv.CreateDB(t, "dataonly_target")
	srv.Exec(t, target, "CREATE TABLE items (id int PRIMARY KEY, v text); CREATE TABLE kept (id int); INSERT INTO kept VALUES (1)")
	r := h.restore(b.ID, RestoreRequest{TargetDatabase: target, RestoreType: RestoreDataOnly})
	if r.Status != state.StatusSuccess || r.RestoreType != RestoreDataOnly {
		t.Fatalf("data-only restore: %s, type %q; log:\n%s", r.Status, r.RestoreType, r.LogOutput)
	}
	got := srv.Checksum(t, target)
	if got["public.items"] != want["public.items"] || got["public.kept"] == "" {
		t.Fatalf("after data-only restore: %v; want items %s and kept", got, want["public.items"])
	}
	r = h.restore(b.ID, RestoreRequest{TargetDatabase: target, RestoreType: RestoreDataOnly})
	if r.Status != state.StatusFailed || !strings.Contains(r.LogOutput, "duplicate key") {
		t.Fatalf("second data-only restore: %s; log:\n%s", r.Status, r.LogOutput)
	}
	rsSameTables(t, "after a failed data-only restore", got, srv.Checksum(t, target))
}
