package web

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/state"
)

// TestOverviewRowsAndCharts: the overview's schedule row and its chart
// come from one read of the schedule's newest backups: the row's last
// success is the newest success among lastSuccessWindow backups, the chart
// plots the successes among chartBackups (all 20 here), at most chartPoints,
// oldest first.
func TestOverviewRowsAndCharts(t *testing.T) {
	st, err := state.Open(state.Options{Dir: t.TempDir(), MasterKey: bytes.Repeat([]byte{7}, 32), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now().UTC().Truncate(time.Second)
	sch := state.Schedule{Meta: state.Meta{ID: "sch_chart", CreatedAt: now.Add(-72 * time.Hour)},
		ScheduleSpec: state.ScheduleSpec{Name: "charted", CronExpr: "@daily", Enabled: true}}
	err = st.Update(func(tx *state.Tx) error {
		if err := state.Put(tx, sch); err != nil {
			return err
		}
		// 60 backups, newest last: the newest 40 failed, the 20 before
		// succeeded with sizes 1000, 1001, ….
		for i := range 60 {
			at := now.Add(time.Duration(i-60) * time.Minute)
			b := state.Backup{ID: fmt.Sprintf("bck_%04d", i), ScheduleID: sch.ID, ScheduleName: sch.Name,
				Status: state.StatusFailed, CreatedAt: at, CompletedAt: &at, SizeBytes: int64(1000 + i), DurationMs: 1000}
			if i < 20 {
				b.Status = state.StatusSuccess
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
	h, err := New(Deps{Store: st, Auth: func(*http.Request) (string, bool) { return "admin", true }})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	page := w.Body.String()
	if w.Code != http.StatusOK {
		t.Fatalf("overview: %d\n%s", w.Code, page)
	}
	// The newest success (bck_0019) is the 41st newest backup: inside the
	// row's window of 50, so the row has it.
	last := now.Add(-41 * time.Minute).Format(time.RFC3339)
	if !strings.Contains(page, `<td data-label="Last success"><time datetime="`+last) {
		t.Errorf("the row's last success is not bck_0019's (%s):\n%s", last, page)
	}
	if !strings.Contains(page, "of the last 20 successful backups") || !strings.Contains(page, "last 1019 B") {
		i := strings.Index(page, "charts-h")
		t.Errorf("the chart should plot the 20 successes among the newest 90 backups, the last of 1019 B:\n%s", page[max(i, 0):])
	}
}
