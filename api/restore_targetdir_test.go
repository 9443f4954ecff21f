package api

import (
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/state"
)

// target_dir (a physical chain's new data directory) must be absolute; a
// relative one is refused with 400 naming the field before the engine is
// called, an absolute one reaches the engine.
func TestRestoreTargetDir(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	now := time.Now().UTC()
	put(t, e.store, state.Backup{ID: "bck_phys1", ConnectionID: f.conn, DatabaseID: f.db, DBType: "mariadb",
		BackupType: "incremental", Status: state.StatusSuccess, StorageProviderID: f.prov, CreatedAt: now, CompletedAt: &now,
		FromLSN: 10, ToLSN: 20, ChainID: "bck_phys0", ParentID: "bck_phys0"})
	before := len(e.eng.calls)
	w := e.call("POST", "/api/backups/bck_phys1/restore", map[string]any{"target_dir": "var/lib/restored"}, 400)
	if msg := errMsg(t, w); !strings.Contains(msg, "target_dir") || !strings.Contains(msg, "absolute") {
		t.Errorf("relative target_dir: %q", msg)
	}
	if len(e.eng.calls) != before {
		t.Errorf("engine called for a refused restore")
	}
	e.call("POST", "/api/backups/bck_phys1/restore", map[string]any{"target_dir": "/var/lib/restored"}, 201)
	if len(e.eng.calls) != before+1 {
		t.Errorf("engine not called for an absolute target_dir")
	}
	var b struct {
		FromLSN  uint64 `json:"from_lsn"`
		ToLSN    uint64 `json:"to_lsn"`
		ChainID  string `json:"chain_id"`
		ParentID string `json:"parent_id"`
	}
	mustJSON(t, e.call("GET", "/api/backups/bck_phys1", nil, 200), &b)
	if b.FromLSN != 10 || b.ToLSN != 20 || b.ChainID != "bck_phys0" || b.ParentID != "bck_phys0" {
		t.Errorf("backup view chain fields: %+v", b)
	}
}
