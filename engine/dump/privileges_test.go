package dump

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"strings"
	"testing"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dbtest"

	"github.com/jagad/jagad/state/logbuf"
)

// TestRestoreMissingRole: a PostgreSQL dump that grants to a role the target
// server lacks fails to restore with a hint naming no_privileges, and
// restores with it, without the grant.
func TestRestoreMissingRole(t *testing.T) {
	s := dbtest.Postgres(t)
	ctx := testCtx(t)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	role := "jagad_ro_" + hex.EncodeToString(b)
	src := s.CreateDB(t, "grants")
	t.Cleanup(func() { // when the test stopped before the role went
		s.Exec(t, src, `DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '`+role+`') THEN
			DROP OWNED BY "`+role+`"; DROP ROLE "`+role+`"; END IF; END $$;`)
	})
	s.Exec(t, src, `CREATE ROLE "`+role+`" NOLOGIN; CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2);
		GRANT SELECT ON t TO "`+role+`";`)
	var dumped bytes.Buffer
	if _, err := Dump(ctx, target(s, dbclient.PostgreSQL, src), Tools{}, &dumped, nil); err != nil {
		t.Fatal(err)
	}
	// The role goes, as on a server that never had it.
	s.Exec(t, src, `DROP OWNED BY "`+role+`"; DROP ROLE "`+role+`";`)

	dst := freshName(t, s, "dst_")
	log := &logbuf.Buffer{}
	err := Restore(ctx, target(s, dbclient.PostgreSQL, dst), Tools{}, RestoreOptions{}, bytes.NewReader(dumped.Bytes()), log)
	if err == nil || !strings.Contains(err.Error(), "no_privileges") || !strings.Contains(log.String(), "RESTORE HINT") {
		t.Fatalf("restore with a missing role: err %v, want one naming no_privileges; log:\n%s", err, log)
	}
	// In place over changed data: the restore fails at the GRANT, at the
	// very end of the archive, and the whole of it rolls back, so the
	// target keeps its data instead of being left half replaced.
	s.Exec(t, src, `DELETE FROM t; INSERT INTO t VALUES (7), (8), (9);`)
	before := s.Checksum(t, src)
	if err := Restore(ctx, target(s, dbclient.PostgreSQL, src), Tools{}, RestoreOptions{}, bytes.NewReader(dumped.Bytes()), log); err == nil {
		t.Fatal("in-place restore with a missing role succeeded")
	}
	if after := s.Checksum(t, src); !maps.Equal(after, before) {
		t.Fatalf("a failed restore changed the target: %v, was %v", after, before)
	}

	dst2 := freshName(t, s, "dst_")
	if err := Restore(ctx, target(s, dbclient.PostgreSQL, dst2), Tools{}, RestoreOptions{NoPrivileges: true},
		bytes.NewReader(dumped.Bytes()), log); err != nil {
		t.Fatalf("restore with NoPrivileges: %v\n%s", err, log)
	}
	if got := s.Checksum(t, dst2)["public.t"]; !strings.HasPrefix(got, "rows=2 ") {
		t.Fatalf("restored table: %q, want 2 rows", got)
	}
}
