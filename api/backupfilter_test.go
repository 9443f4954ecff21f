package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/state"
)

// TestBackupsFilteredByStatusAndType checks GET /api/backups and the
// dashboard's backups page filtered by status and type, paged, against the
// backups written: every third failed, every second incremental.
func TestBackupsFilteredByStatusAndType(t *testing.T) {
	e := newEnv(t, func(d *Deps) { d.UI = true })
	f := newFixture(e)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var failedIncr []string // newest first
	err := e.store.Update(func(tx *state.Tx) error {
		for i := range 120 {
			b := state.Backup{ID: fmt.Sprintf("bck_%020d", i), ConnectionID: f.conn, DatabaseID: f.db,
				ScheduleID: f.sched, BackupType: "full", Status: state.StatusSuccess, CreatedAt: base.Add(time.Duration(i) * time.Minute)}
			if i%3 == 0 {
				b.Status = state.StatusFailed
			}
			if i%2 == 0 {
				b.BackupType = "incremental"
			}
			if b.Status == state.StatusFailed && b.BackupType == "incremental" {
				failedIncr = append([]string{b.ID}, failedIncr...)
			}
			if err := state.Put(tx, b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	w := e.call("GET", "/api/backups?status=failed&backup_type=incremental&schedule_id="+f.sched+"&limit=5&offset=3", nil, http.StatusOK)
	var got []struct {
		ID         string `json:"id"`
		Status     string `json:"status"`
		BackupType string `json:"backup_type"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	var gotIDs []string
	for _, b := range got {
		gotIDs = append(gotIDs, b.ID)
	}
	if want := failedIncr[3:8]; !reflect.DeepEqual(gotIDs, want) {
		t.Fatalf("GET /api/backups filtered = %v, want %v", gotIDs, want)
	}
	page := e.send(req{method: "GET", path: "/backups?status=failed&type=incremental&page=1", cookie: true}).Body.String()
	if want := fmt.Sprintf("of %d", len(failedIncr)); !strings.Contains(page, want) || !strings.Contains(page, failedIncr[0]) {
		t.Fatalf("backups page does not show %q and %s", want, failedIncr[0])
	}
}
