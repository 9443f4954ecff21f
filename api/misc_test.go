package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/reconcile"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// TestNoObjectWhileRunning: a backup that is not done has no object to
// download (409), verify or restore (400), whatever the engine would say.
// The download itself is tested through the real engine in cmd/jagad
// (TestEveryRouteThroughTheDaemon).
func TestNoObjectWhileRunning(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	now := time.Now().UTC()
	put(t, e.store, state.Backup{ID: "bck_running1", ConnectionID: f.conn, DatabaseID: f.db, BackupType: "full",
		Status: state.StatusRunning, StartedAt: &now, CreatedAt: now})
	before := len(e.eng.calls)
	for _, p := range []string{"/download", "/verify", "/restore"} {
		method := "POST"
		if p == "/download" {
			method = "GET"
		}
		// The reference: download is a conflict; verify and restore refuse
		// with 400 "cannot verify/restore backup with status: running".
		want := http.StatusBadRequest
		if p == "/download" {
			want = http.StatusConflict
		}
		if w := e.send(req{method: method, path: "/api/backups/bck_running1" + p}); w.Code != want {
			t.Errorf("%s of running backup: %d %s", p, w.Code, w.Body)
		}
	}
	if len(e.eng.calls) != before {
		t.Errorf("the engine was called: %v", e.eng.calls[before:])
	}
}

// failingEngine returns a plain error that the API must not show.
type failingEngine struct{ *fakeEngine }

func (failingEngine) RunSchedule(context.Context, string) error {
	return errors.New("gocron: scheduler internals exploded")
}

func (failingEngine) Verify(context.Context, string, bool) error {
	return fault.Conflict("backup is already being verified")
}

func TestErrorMapping(t *testing.T) {
	e := newEnv(t)
	e.deps.Engine = failingEngine{e.eng}
	e.h = New(e.deps)
	f := newFixture(e)
	w := e.send(req{method: "POST", path: "/api/schedules/" + f.sched + "/run"})
	if w.Code != 500 || errMsg(t, w) != "internal error" {
		t.Errorf("unclassified: %d %s", w.Code, w.Body)
	}
	if n := strings.Count(e.logs.String(), "scheduler internals exploded"); n != 1 {
		t.Errorf("unclassified error logged %d times", n)
	}
	w = e.send(req{method: "POST", path: "/api/backups/" + f.backup + "/verify"})
	if w.Code != 409 || errMsg(t, w) != "backup is already being verified" {
		t.Errorf("classified: %d %s", w.Code, w.Body)
	}
	if w := e.send(req{method: "PATCH", path: "/api/connections"}); w.Code != 405 {
		t.Errorf("PATCH: %d", w.Code)
	}
	srv := &server{log: e.deps.Logger}
	for code, status := range statusOf {
		w := httptest.NewRecorder()
		srv.writeError(w, httptest.NewRequest("GET", "/api/x", nil), fault.New(code, "m"))
		if w.Code != status || errMsg(t, w) != "m" {
			t.Errorf("%s → %d %s, want %d", code, w.Code, w.Body, status)
		}
	}
}

func TestNotReadyEngine(t *testing.T) {
	e := newEnv(t, func(d *Deps) { d.Engine = nil })
	conn := idOf(t, e.call("POST", "/api/connections", map[string]any{"name": "c", "db_type": "mysql", "host": "h", "username": "u"}, 201).Body)
	db := database(conn, "d", "api")
	put(t, e.store, db)
	prov := idOf(t, e.call("POST", "/api/storage-providers", map[string]any{"name": "p", "provider_type": "local", "path": "/srv"}, 201).Body)
	for _, r := range []req{
		{method: "POST", path: "/api/backups", body: map[string]any{"connection_id": conn, "database_id": db.ID}},
		{method: "POST", path: "/api/storage-providers/" + prov + "/test"},
	} {
		w := e.send(r)
		if w.Code != 503 || errMsg(t, w) != "backup engine not available yet" {
			t.Errorf("%s %s: %d %s", r.method, r.path, w.Code, w.Body)
		}
	}
}

func TestAPIOnlyMode(t *testing.T) {
	e := newEnv(t, func(d *Deps) { d.Config = nil })
	if w := e.send(req{method: "GET", path: "/api/config/status"}); w.Code != 404 || !strings.Contains(errMsg(t, w), "no config file") {
		t.Errorf("status: %d %s", w.Code, w.Body)
	}
	for _, p := range []string{"/api/config/reload"} {
		if w := e.send(req{method: "POST", path: p}); w.Code != 409 || !strings.Contains(errMsg(t, w), "no config file") {
			t.Errorf("%s: %d %s", p, w.Code, w.Body)
		}
	}
	w := e.send(req{method: "POST", path: "/api/config/plan", body: "version: 1\n", header: map[string]string{"Content-Type": "application/yaml"}})
	if w.Code != 409 {
		t.Errorf("plan: %d %s", w.Code, w.Body)
	}
	e.call("GET", "/api/config/export", nil, 200)
}

func TestConfigEndpoints(t *testing.T) {
	e := newEnv(t)
	// What a plan shows is tested against the real reconciler in cmd/jagad
	// (TestEveryRouteThroughTheDaemon); here: the body reaches it as sent.
	w := e.send(req{method: "POST", path: "/api/config/plan", body: "version: 1\nschedules: []\n", header: map[string]string{"Content-Type": "application/x-yaml"}})
	if w.Code != 200 || string(e.cfg.planned) != "version: 1\nschedules: []\n" {
		t.Errorf("plan: %d %s", w.Code, w.Body)
	}
	if w := e.send(req{method: "POST", path: "/api/config/plan", body: `{"version":1}`}); w.Code != 400 {
		t.Errorf("JSON plan body: %d", w.Code)
	}
	if w := e.send(req{method: "POST", path: "/api/config/plan", body: " \n", header: map[string]string{"Content-Type": "text/plain"}}); w.Code != 400 {
		t.Errorf("empty plan: %d", w.Code)
	}
	e.cfg.err = fault.Invalid(`jagad.yaml:3:1: unknown key "x"`)
	if w := e.send(req{method: "POST", path: "/api/config/plan", body: "x: 1\n", header: map[string]string{"Content-Type": "text/plain"}}); w.Code != 400 || !strings.Contains(errMsg(t, w), "3:1") {
		t.Errorf("invalid plan: %d %s", w.Code, w.Body)
	}
	e.call("POST", "/api/config/reload?confirm_prune=true", nil, 200)
	if !e.cfg.confirm {
		t.Error("confirm_prune not passed")
	}
	e.call("POST", "/api/config/reload", nil, 200)
	if e.cfg.confirm {
		t.Error("confirm_prune defaulted to true")
	}
}

// TestConfigReloadOutcomes: a reload held by the prune guard is 409, a
// failed one 400, each with the reconciler's message; an applied one shows
// its plan.
func TestConfigReloadOutcomes(t *testing.T) {
	e := newEnv(t)
	plan := &reconcile.Plan{Items: []reconcile.Item{
		{Action: reconcile.Prune, Kind: "schedule", Name: "a"},
		{Action: reconcile.Unchanged, Kind: "schedule", Name: "b"},
	}}
	tests := []struct {
		name     string
		res      reconcile.Result
		wantCode int
		wantMsg  string
	}{
		{"held", reconcile.Result{Plan: plan, Result: reconcile.OutcomeHeld, Err: errors.New("held by the prune guard: 3 of 4")}, 409, "held by the prune guard: 3 of 4"},
		{"failed", reconcile.Result{Result: reconcile.OutcomeFailed, Err: errors.New(`jagad.yaml:1:1: unknown key "x"`)}, 400, `jagad.yaml:1:1: unknown key "x"`},
		{"applied", reconcile.Result{Plan: plan, Result: reconcile.OutcomeApplied}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.cfg.reload = &tt.res
			w := e.send(req{method: "POST", path: "/api/config/reload"})
			if w.Code != tt.wantCode {
				t.Fatalf("reload: %d %s, want %d", w.Code, w.Body, tt.wantCode)
			}
			if tt.wantMsg != "" {
				if got := errMsg(t, w); got != tt.wantMsg {
					t.Errorf("error = %q, want %q", got, tt.wantMsg)
				}
				return
			}
			var pv map[string]any
			mustJSON(t, w, &pv)
			want := map[string]any{"changes": 1.0, "summary": "0 create, 0 update, 0 adopt, 1 prune, 1 unchanged",
				"items": []any{
					map[string]any{"kind": "schedule", "name": "a", "action": "prune"},
					map[string]any{"kind": "schedule", "name": "b", "action": "unchanged"},
				}}
			if !reflect.DeepEqual(pv, want) {
				t.Errorf("plan = %v, want %v", pv, want)
			}
		})
	}
}

// TestRestoreAndVerifyRefusals: the reference's messages for a backup that
// is not successful (400) and 404 for an unknown target connection.
func TestRestoreAndVerifyRefusals(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	w := e.call("POST", "/api/backups/"+f.backup+"/restore", map[string]any{"target_connection": "conn_nope"}, http.StatusNotFound)
	if !strings.Contains(w.Body.String(), "target connection not found") {
		t.Errorf("unknown target: %s", w.Body)
	}
	put(t, e.store, failedBackup(f))
	w = e.call("POST", "/api/backups/bck_failed1/restore", map[string]any{}, http.StatusBadRequest)
	if !strings.Contains(w.Body.String(), "cannot restore backup with status: failed") {
		t.Errorf("restore failed backup: %s", w.Body)
	}
	w = e.call("POST", "/api/backups/bck_failed1/verify", nil, http.StatusBadRequest)
	if !strings.Contains(w.Body.String(), "cannot verify backup with status: failed") {
		t.Errorf("verify failed backup: %s", w.Body)
	}
}

// TestProviderHoldingBackupsIsKept: a storage provider that still holds
// backups cannot be deleted (409); once they are gone it can.
func TestProviderHoldingBackupsIsKept(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	e.call("DELETE", "/api/schedules/"+f.sched, nil, http.StatusNoContent)
	w := e.call("DELETE", "/api/storage-providers/"+f.prov, nil, http.StatusConflict)
	if !strings.Contains(errMsg(t, w), "holds backups") {
		t.Errorf("delete of a provider with backups: %s", w.Body)
	}
	if err := e.store.Update(func(tx *state.Tx) error { return state.Delete[state.Backup](tx, f.backup) }); err != nil {
		t.Fatal(err)
	}
	e.call("DELETE", "/api/storage-providers/"+f.prov, nil, http.StatusNoContent)
}

func failedBackup(f fixture) state.Backup {
	now := time.Now().UTC()
	return state.Backup{ID: "bck_failed1", ConnectionID: f.conn, DatabaseID: f.db, BackupType: "full",
		Status: state.StatusFailed, VerifyStatus: state.VerifyPending, CreatedAt: now, CompletedAt: &now}
}
