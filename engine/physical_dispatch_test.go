package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/state"
)

// backup_type physical means mariadb-backup on mysql/mariadb and
// pg_basebackup on postgresql: restores go to the matching path, and the
// PostgreSQL-only fields (check, point in time) are refused elsewhere.
func TestPhysicalRestoreDispatchByDBType(t *testing.T) {
	h := newHarness(t)
	p := h.addLocalProvider("local")
	now := time.Now().UTC()
	rec := func(dbType, typ string) state.Backup {
		id := state.NewID(state.KindBackup)
		b := state.Backup{ID: id, DBType: dbType, BackupType: typ, Status: state.StatusSuccess,
			StorageProviderID: p.ID, StoragePath: "x/" + id, DatabaseName: "app", CreatedAt: now, CompletedAt: &now}
		if typ == TypePhysical && dbType != dbclient.PostgreSQL {
			b.ChainID = id
		}
		return put(h, b)
	}
	maria, pg, logical := rec("mariadb", TypePhysical), rec(dbclient.PostgreSQL, TypePhysical), rec(dbclient.PostgreSQL, "full")
	lsn := "0/3000000"
	cases := []struct {
		name string
		id   string
		req  RestoreRequest
		want string
	}{
		{"mariadb physical refuses a point in time", maria.ID, RestoreRequest{TargetDir: "/tmp/x", TargetLSN: lsn}, "are for PostgreSQL physical backups"},
		{"mariadb physical refuses check", maria.ID, RestoreRequest{TargetDir: "/tmp/x", Check: true}, "are for PostgreSQL physical backups"},
		{"mariadb physical takes the chain path", maria.ID, RestoreRequest{TargetDir: "rel"}, "an absolute path that does not exist or is empty"},
		{"postgresql physical takes the base backup path", pg.ID, RestoreRequest{TargetDir: "rel"}, "target_dir must be an absolute path"},
		{"logical refuses target_dir", logical.ID, RestoreRequest{TargetDir: "/tmp/x"}, "are for physical backups; this is a full backup"},
	}
	for _, c := range cases {
		_, err := h.eng.Restore(context.Background(), c.id, c.req)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
}

func TestPhysicalKindOfBackup(t *testing.T) {
	for _, c := range []struct {
		db, typ  string
		pg, phys bool
	}{
		{dbclient.PostgreSQL, TypePhysical, true, true},
		{"mariadb", TypePhysical, false, true},
		{"mysql", TypeIncremental, false, true},
		{dbclient.PostgreSQL, "full", false, false},
	} {
		b := state.Backup{DBType: c.db, BackupType: c.typ}
		if isPGPhysical(b) != c.pg || isPhysical(b.BackupType) != c.phys {
			t.Errorf("%s %s: isPGPhysical %v isPhysical %v", c.db, c.typ, isPGPhysical(b), isPhysical(b.BackupType))
		}
	}
	if err := checkPhysical(TypeIncremental, dbclient.PostgreSQL); err == nil {
		t.Error("incremental on postgresql accepted")
	}
	for _, db := range []string{dbclient.PostgreSQL, "mariadb"} {
		if err := checkPhysical(TypePhysical, db); err != nil {
			t.Errorf("physical on %s: %v", db, err)
		}
	}
}

// PostgreSQL base backups (backup_type physical) count as fulls for
// retention: retention_full 2 keeps the two newest and deletes the oldest
// (archived WAL is never deleted by retention).
func TestRetentionCountsPGBasesAsFulls(t *testing.T) {
	env := newSchedEnv(t, utc("2025-06-01T00:00:00Z"), "UTC")
	sc := env.addSchedule("bases", "0 0 1 1 *", func(s *state.Schedule) { s.RetentionFull = 2 })
	now := utc("2025-06-01T00:00:00Z")
	mk := func(age time.Duration) state.Backup {
		created := now.Add(-age)
		return put(env.harness, state.Backup{ID: state.NewID(state.KindBackup), ScheduleID: sc.ID, ScheduleName: sc.Name,
			ConnectionID: env.conn.ID, DatabaseID: env.db.ID, DBType: dbclient.PostgreSQL, BackupType: TypePhysical,
			Status: state.StatusSuccess, VerifyStatus: state.VerifyPassed, CreatedAt: created,
			Physical: &state.PhysicalInfo{StartLSN: "0/2000028", StopLSN: "0/2000100", Timeline: 1}})
	}
	oldest, mid, newest := mk(3*time.Hour), mk(2*time.Hour), mk(time.Hour)
	env.eng.applyRetention(env.eng.ctx, sc)
	if env.hasBackup(oldest.ID) {
		t.Fatal("the oldest base backup was kept: physical bases are not counted as fulls")
	}
	for _, b := range []state.Backup{mid, newest} {
		if !env.hasBackup(b.ID) {
			t.Fatalf("base backup %s was deleted", b.ID)
		}
	}
}
