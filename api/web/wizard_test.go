package web

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/state"
)

// TestWizardPointInTimeOnlyWhenDeclared: the restore wizard offers a point
// in time only for a backup whose kind declares it, bounded by the window
// it declares; today's dump kinds declare none.
func TestWizardPointInTimeOnlyWhenDeclared(t *testing.T) {
	st, err := state.Open(state.Options{Dir: t.TempDir(), MasterKey: bytes.Repeat([]byte{7}, 32), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	b := state.Backup{ID: "bck_pit", Status: state.StatusSuccess, BackupType: "full", DBType: "postgresql",
		DatabaseName: "app", CreatedAt: now, CompletedAt: &now}
	if err := st.Update(func(tx *state.Tx) error { return state.Put(tx, b) }); err != nil {
		t.Fatal(err)
	}
	get := func(caps func(state.Backup, *state.Connection) engine.Capabilities) string {
		h, err := New(Deps{Store: st, Auth: func(*http.Request) (string, bool) { return "admin", true }, Capabilities: caps})
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/restore?backup="+b.ID, nil))
		if w.Code != http.StatusOK {
			t.Fatalf("wizard: %d", w.Code)
		}
		return w.Body.String()
	}
	if page := get(nil); strings.Contains(page, `id="r-when"`) || strings.Contains(page, "point in time") ||
		!strings.Contains(page, `id="restore-form"`) {
		t.Error("the wizard offers a point in time for a pg_dump backup")
	}
	if c := engine.CapabilitiesOf(b, nil); c.PointInTime {
		t.Errorf("a logical dump declares %+v", c)
	}
	from, to := now.Add(-time.Hour), now.Add(2*time.Hour)
	page := get(func(state.Backup, *state.Connection) engine.Capabilities {
		return engine.Capabilities{PointInTime: true, PointInTimeFrom: &from, PointInTimeTo: &to, TargetDir: true}
	})
	for _, s := range []string{`id="r-when"`, `id="w-pit" name="when" value="pit"`,
		`min="2026-03-01T09:00:00" max="2026-03-01T12:00:00" disabled`, `id="r-dir" name="target_dir"`} {
		if !strings.Contains(page, s) {
			t.Errorf("a kind that declares a point in time: the wizard lacks %s", s)
		}
	}
	if strings.Contains(page, `id="r-conn"`) || strings.Contains(page, `id="w-latest"`) {
		t.Error("a physical restore offers a target connection, or latest it does not declare")
	}
}

// TestCapabilitiesOfPhysical: a PostgreSQL base backup declares a point in
// time (from its end, and latest) only while its connection archives its
// WAL; a MariaDB physical backup only with binary log coordinates and a
// binary log archive; both restore into a target_dir.
func TestCapabilitiesOfPhysical(t *testing.T) {
	end := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	pg := state.Backup{DBType: "postgresql", BackupType: "physical", Status: state.StatusSuccess, CompletedAt: &end,
		Physical: &state.PhysicalInfo{StartLSN: "0/2000028", StopLSN: "0/2000100", Timeline: 1}}
	archiving := &state.Connection{ConnectionSpec: state.ConnectionSpec{WalArchive: &state.WalArchive{Enabled: true, Storage: "s3"}}}
	c := engine.CapabilitiesOf(pg, archiving)
	if !c.PointInTime || !c.Latest || !c.TargetDir || !c.Check || c.PointInTimeFrom == nil || !c.PointInTimeFrom.Equal(end) {
		t.Errorf("pg base with a WAL archive: %+v", c)
	}
	for _, conn := range []*state.Connection{nil, {}, {ConnectionSpec: state.ConnectionSpec{WalArchive: &state.WalArchive{Storage: "s3"}}}} {
		if c := engine.CapabilitiesOf(pg, conn); c.PointInTime || c.Latest || !c.TargetDir {
			t.Errorf("pg base without an archive (%+v): %+v", conn, c)
		}
	}
	maria := state.Backup{DBType: "mariadb", BackupType: "incremental", Status: state.StatusSuccess, CompletedAt: &end, BinlogFile: "mysql-bin.000004"}
	binlogs := &state.Connection{ConnectionSpec: state.ConnectionSpec{BinlogArchive: &state.BinlogArchiveSpec{Enabled: true}}}
	if c := engine.CapabilitiesOf(maria, binlogs); !c.PointInTime || c.Latest || c.Check || !c.TargetDir {
		t.Errorf("mariadb incremental with a binlog archive: %+v", c)
	}
	maria.BinlogFile = ""
	if c := engine.CapabilitiesOf(maria, binlogs); c.PointInTime {
		t.Errorf("mariadb incremental without binlog coordinates: %+v", c)
	}
	dump := state.Backup{DBType: "postgresql", BackupType: "full", Status: state.StatusSuccess, CompletedAt: &end}
	if c := engine.CapabilitiesOf(dump, archiving); c != (engine.Capabilities{}) {
		t.Errorf("a pg_dump declares %+v", c)
	}
}
