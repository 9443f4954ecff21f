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
	get := func(caps func(state.Backup) engine.Capabilities) string {
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
	if c := engine.CapabilitiesOf(b); c.PointInTime {
		t.Errorf("a logical dump declares %+v", c)
	}
	from, to := now.Add(-time.Hour), now.Add(2*time.Hour)
	page := get(func(state.Backup) engine.Capabilities {
		return engine.Capabilities{PointInTime: true, PointInTimeFrom: &from, PointInTimeTo: &to}
	})
	for _, s := range []string{`id="r-when"`, `id="w-pit" name="when" value="pit"`,
		`min="2026-03-01T09:00:00" max="2026-03-01T12:00:00" disabled`} {
		if !strings.Contains(page, s) {
			t.Errorf("a kind that declares a point in time: the wizard lacks %s", s)
		}
	}
}
