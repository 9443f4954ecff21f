package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/state"
)

// TestRestoreType: the original web UI's restore wizard sends
// "restore_type": "full"; it and "data-only" (PostgreSQL) are accepted and
// recorded; an unknown type, data-only of a MySQL/MariaDB backup and
// data-only with drop_existing are refused with 400 before the engine is
// called.
func TestRestoreType(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	backup := func(id, dbType string) string {
		now := time.Now().UTC()
		put(t, e.store, state.Backup{ID: id, ConnectionID: f.conn, DatabaseID: f.db, DBType: dbType, BackupType: "full",
			Status: state.StatusSuccess, StorageProviderID: f.prov, CreatedAt: now, CompletedAt: &now})
		return id
	}
	pg, my, maria := backup("bck_pg1", "postgresql"), backup("bck_my1", "mysql"), backup("bck_maria1", "mariadb")
	tests := []struct {
		name    string
		backup  string
		body    map[string]any
		status  int
		want    string // restore_type in the record, or a part of the error
		engaged bool
	}{
		{"wizard full", pg, map[string]any{"target_connection": f.conn, "restore_type": "full"}, 201, "full", true},
		{"default full", pg, map[string]any{}, 201, "full", true},
		{"mysql full", my, map[string]any{"restore_type": "full"}, 201, "full", true},
		{"pg data-only", pg, map[string]any{"restore_type": "data-only"}, 201, "data-only", true},
		{"unknown", pg, map[string]any{"restore_type": "incremental"}, 400, `unsupported value "incremental"; supported: full, data-only`, false},
		{"mysql data-only", my, map[string]any{"restore_type": "data-only"}, 400, "a dump without DDL cannot be made from a full one", false},
		{"mariadb data-only", maria, map[string]any{"restore_type": "data-only"}, 400, "PostgreSQL backups only", false},
		{"data-only drop", pg, map[string]any{"restore_type": "data-only", "drop_existing": true}, 400, "cannot be combined with drop_existing", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.eng.calls)
			w := e.call("POST", "/api/backups/"+tc.backup+"/restore", tc.body, tc.status)
			if engaged := len(e.eng.calls) > before; engaged != tc.engaged {
				t.Errorf("engine called = %t, want %t", engaged, tc.engaged)
			}
			if tc.status != http.StatusCreated {
				if msg := errMsg(t, w); !strings.Contains(msg, tc.want) || !strings.Contains(msg, "restore_type") {
					t.Errorf("error %q, want it to name restore_type and contain %q", msg, tc.want)
				}
				return
			}
			var r struct {
				ID          string `json:"id"`
				RestoreType string `json:"restore_type"`
			}
			mustJSON(t, w, &r)
			if r.RestoreType != tc.want {
				t.Errorf("restore_type %q in %s, want %q", r.RestoreType, w.Body, tc.want)
			}
			w = e.call("GET", "/api/restores/"+r.ID, nil, http.StatusOK)
			if !strings.Contains(w.Body.String(), `"restore_type":"`+tc.want+`"`) {
				t.Errorf("GET restore: %s, want restore_type %s", w.Body, tc.want)
			}
		})
	}
}

// TestRestorePhysicalFields: target_dir, check and the point-in-time
// fields reach the engine and come back in the restore record; a bad
// target_time is a 400.
func TestRestorePhysicalFields(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	now := time.Now().UTC()
	put(t, e.store, state.Backup{ID: "bck_phys1", ConnectionID: f.conn, DatabaseID: f.db, DBType: "postgresql",
		BackupType: state.BackupPhysical, Status: state.StatusSuccess, StorageProviderID: f.prov, CreatedAt: now, CompletedAt: &now})
	w := e.call("POST", "/api/backups/bck_phys1/restore", map[string]any{"target_dir": "/srv/pg-restored", "check": true, "latest": true}, http.StatusCreated)
	var r struct {
		TargetDir   string `json:"target_dir"`
		PointInTime string `json:"point_in_time"`
	}
	mustJSON(t, w, &r)
	if r.TargetDir != "/srv/pg-restored" || r.PointInTime != "latest" {
		t.Fatalf("restore record: %+v", r)
	}
	e.call("POST", "/api/backups/bck_phys1/restore", map[string]any{"target_dir": "/srv/x", "target_time": "yesterday"}, http.StatusBadRequest)
}
