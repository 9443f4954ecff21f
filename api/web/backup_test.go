package web

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/state"
)

// TestBackupPageHistoryAndDrillProgress: a backup's page lists its verify
// and drill history newest first with the drill's row-count check, shows
// the live progress of its running drill (and not other jobs), and tells
// the script which changes concern it.
func TestBackupPageHistoryAndDrillProgress(t *testing.T) {
	st, err := state.Open(state.Options{Dir: t.TempDir(), MasterKey: bytes.Repeat([]byte{7}, 32), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	b := state.Backup{ID: "bck_hist", Status: state.StatusSuccess, BackupType: "full", DBType: "postgresql", CreatedAt: now}
	b.AddCheck(state.BackupCheck{Kind: state.CheckVerify, Mode: "deep", At: now.Add(time.Minute), DurationMs: 1500, Result: "passed"})
	b.AddCheck(state.BackupCheck{Kind: state.CheckDrill, At: now.Add(2 * time.Minute), DurationMs: 4000, Result: "passed",
		RestoreID: "res_drill1", RowCounts: state.RowCountsMatch, Tables: 3, Rows: 4000})
	b.AddCheck(state.BackupCheck{Kind: state.CheckVerify, Mode: "quick", At: now.Add(3 * time.Minute), Result: "failed",
		Error: "stored object sha256 mismatch"})
	running := state.Restore{ID: "res_drill2", BackupID: b.ID, TargetDatabase: "jagad_drill_x", Drill: true,
		Status: state.StatusRunning, StartedAt: &now, CreatedAt: now.Add(4 * time.Minute)}
	if err := st.Update(func(tx *state.Tx) error { return errors.Join(state.Put(tx, b), state.Put(tx, running)) }); err != nil {
		t.Fatal(err)
	}
	pct := 40.0
	jobs := []engine.Progress{
		{ID: "res_drill2", Kind: "drill", Phase: engine.PhaseRestore, BytesRead: 4096, Percent: &pct, Label: "nightly: app → jagad_drill_x"},
		{ID: "bck_other", Kind: "backup", Phase: engine.PhaseDump, Label: "someone else"},
	}
	h, err := New(Deps{Store: st, Auth: func(*http.Request) (string, bool) { return "admin", true },
		Progress: func() []engine.Progress { return jobs }})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/backups/"+b.ID, nil))
	body, _ := io.ReadAll(w.Body)
	page := string(body)
	if w.Code != http.StatusOK {
		t.Fatalf("GET /backups/%s: %d\n%s", b.ID, w.Code, page)
	}
	hist := page[strings.Index(page, `id="checks"`):]
	hist = hist[:strings.Index(hist, "</section>")]
	order := []string{"quick verify", "stored object sha256 mismatch", "restore drill",
		"match</span>: 3 tables, 4000 rows", `href="/restores/res_drill1"`, "deep verify"}
	at := 0
	for _, s := range order {
		i := strings.Index(hist[at:], s)
		if i < 0 {
			t.Fatalf("history lacks %q after offset %d (newest first):\n%s", s, at, hist)
		}
		at += i
	}
	if n := strings.Count(hist, `<tr data-check=`); n != 3 {
		t.Errorf("%d history rows, want 3", n)
	}
	for _, s := range []string{`data-watch="backup:bck_hist restore provider"`, `data-job="res_drill2" data-kind="drill"`,
		`href="/restores/res_drill2">drill · nightly: app → jagad_drill_x</a> <span class="phase">restore</span>`, `value="40.0"`} {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks %s", s)
		}
	}
	if strings.Contains(page, "bck_other") {
		t.Error("the backup page shows another job's progress")
	}
}
