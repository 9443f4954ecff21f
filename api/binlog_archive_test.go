package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/state"
)

// binlog_archive on a connection: shown, kept on an update that leaves it
// out, refused on postgresql; target_time must be RFC 3339.
func TestBinlogArchiveAndTargetTime(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	w := e.call("POST", "/api/connections", map[string]any{"name": "maria", "db_type": "mariadb", "host": "db.example.com",
		"username": "u", "binlog_archive": map[string]any{"enabled": true, "storage": "vault"}}, http.StatusCreated)
	maria := idOf(t, w.Body)
	e.call("PUT", "/api/connections/"+maria, map[string]any{"host": "db2.example.com"}, http.StatusOK)
	var v connectionView
	mustJSON(t, e.call("GET", "/api/connections/"+maria, nil, http.StatusOK), &v)
	if v.BinlogArchive == nil || *v.BinlogArchive != (state.BinlogArchiveSpec{Enabled: true, Storage: "vault"}) {
		t.Fatalf("binlog_archive = %+v", v.BinlogArchive)
	}
	w = e.call("POST", "/api/connections", map[string]any{"name": "pg2", "db_type": "postgresql", "host": "h",
		"username": "u", "binlog_archive": map[string]any{"enabled": true}}, http.StatusBadRequest)
	if msg := errMsg(t, w); !strings.Contains(msg, "binlog_archive") {
		t.Errorf("binlog_archive on postgresql: %q", msg)
	}

	now := time.Now().UTC()
	put(t, e.store, state.Backup{ID: "bck_phys1", ConnectionID: f.conn, DatabaseID: f.db, DBType: "mariadb",
		BackupType: "physical", Status: state.StatusSuccess, StorageProviderID: f.prov, CreatedAt: now, CompletedAt: &now})
	before := len(e.eng.calls)
	w = e.call("POST", "/api/backups/bck_phys1/restore", map[string]any{"target_dir": "/r", "target_time": "yesterday"}, http.StatusBadRequest)
	if msg := errMsg(t, w); !strings.Contains(msg, "target_time") || !strings.Contains(msg, "RFC 3339") {
		t.Errorf("bad target_time: %q", msg)
	}
	if len(e.eng.calls) != before {
		t.Errorf("engine called for a refused restore")
	}
	e.call("POST", "/api/backups/bck_phys1/restore", map[string]any{"target_dir": "/r", "target_time": "2026-12-06T10:00:00Z"}, http.StatusCreated)
}
