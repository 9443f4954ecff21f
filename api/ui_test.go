package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/jagad/jagad/api/web"
	"github.com/jagad/jagad/state"
)

// TestDashboardPages renders every dashboard page over a store with a
// connection, schedule, backup and restore: a page without a session
// redirects to /login, every page answers 200 with the strict CSP, the API
// keeps answering JSON 404s under /api/, and a config error shows its
// FILE:LINE:COL.
func TestDashboardPages(t *testing.T) {
	cfg := brokenConfig{&fakeConfig{}, state.ConfigStatus{Path: "/etc/jagad/jagad.yaml", Generation: 3,
		LastError: "jagad.yaml:12:5: schedules[0].cron_expr: bad cron expression \"nope\""}}
	e := newEnv(t, func(d *Deps) { d.UI, d.Config = true, cfg })
	f := newFixture(e)

	w := e.send(req{method: "GET", path: "/backups?status=failed", noAuth: true})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login?next=%2Fbackups%3Fstatus%3Dfailed" {
		t.Fatalf("no session: %d %q", w.Code, w.Header().Get("Location"))
	}
	w = e.send(req{method: "GET", path: "/login", noAuth: true})
	if w.Code != http.StatusOK || w.Header().Get("Content-Security-Policy") != web.CSP || !strings.Contains(w.Body.String(), `id="login-form"`) {
		t.Fatalf("login page: %d %q", w.Code, w.Header().Get("Content-Security-Policy"))
	}
	for _, tc := range []struct{ path, want string }{
		{"/", "Running now"},
		{"/backups", f.backup},
		{"/backups?status=success&type=full&page=1", f.backup},
		{"/backups?status=failed", "No backups match."},
		{"/backups/" + f.backup, "BACKUP: streaming postgresql myapp"},
		{"/schedules", "Run now"},
		{"/config", `<code class="loc">jagad.yaml:12:5</code> schedules[0].cron_expr`},
		{"/restores", f.restore},
		{"/restores/" + f.restore, f.backup},
		{"/restore", f.backup},
		{"/restore?backup=" + f.backup, `id="restore-form"`},
		{"/connections", "prod-pg"},
		{"/storage", "my-backups"},
		{"/notifications", "Send test"},
		{"/account", `id="password-form"`},
		{"/settings", `id="s-concurrent_backups"`},
		{"/schedules/new", `id="schedule-form"`},
		{"/schedules/" + f.sched, `value="0 2 * * *"`},
		{"/connections/new", `id="connection-form"`},
		{"/connections/" + f.conn, `value="db.example.com"`},
		{"/storage/new", `id="provider-form"`},
		{"/storage/" + f.prov, `value="my-backups"`},
		{"/notifications/new", `id="notification-form"`},
		{"/notifications/" + f.notif, `id="notification-form"`},
		{"/static/app.js", "EventSource"},
		{"/static/app.css", "--accent"},
	} {
		w := e.send(req{method: "GET", path: tc.path, cookie: true})
		if w.Code != http.StatusOK {
			t.Errorf("GET %s: %d\n%s", tc.path, w.Code, w.Body.String())
			continue
		}
		if !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("GET %s: no %q in\n%s", tc.path, tc.want, w.Body.String())
		}
		if got := w.Header().Get("Content-Security-Policy"); got != web.CSP {
			t.Errorf("GET %s: CSP %q", tc.path, got)
		}
		if strings.Contains(w.Body.String(), "pg-secret") {
			t.Errorf("GET %s: the fixture's stored password is in the page", tc.path)
		}
		if strings.Contains(w.Body.String(), "<script>") || strings.Contains(w.Body.String(), " style=\"") {
			t.Errorf("GET %s: inline script or style", tc.path)
		}
	}
	for path, want := range map[string]int{"/nope": 404, "/backups/bck_missing": 404, "/connections/conn_missing": 404,
		"/storage/prov_missing": 404, "/notifications/notif_missing": 404} {
		if w := e.send(req{method: "GET", path: path, cookie: true}); w.Code != want || !strings.Contains(w.Header().Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: %d %s, want %d html", path, w.Code, w.Header().Get("Content-Type"), want)
		}
	}
	if w := e.send(req{method: "GET", path: "/api/nope"}); w.Code != 404 || !strings.Contains(w.Header().Get("Content-Type"), "json") {
		t.Errorf("GET /api/nope: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	if w := e.send(req{method: "POST", path: "/backups", cookie: true}); w.Code == http.StatusOK {
		t.Errorf("POST /backups served: %d", w.Code)
	}
}

// brokenConfig reports a failed reload.
type brokenConfig struct {
	*fakeConfig
	st state.ConfigStatus
}

func (b brokenConfig) Status() state.ConfigStatus { return b.st }
