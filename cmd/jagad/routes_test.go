package main

import (
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/state"
)

// routeCase checks one route of api/routes.go through the real daemon. The
// cases run in order and build on each other (ids in w.ids).
type routeCase struct {
	route string // "METHOD /pattern" as api/routes.go registers it
	run   func(t *testing.T, w *routeWorld)
}

type list = []map[string]any
type obj = map[string]any

// TestEveryRouteThroughTheDaemon walks every route of the API against jagad
// serve as it is wired in production (store, reconciler, engine, API) with
// a jagad.yaml, a local storage provider, the test PostgreSQL and a local
// webhook receiver, and checks what each route did, not what a fake
// answered. A route registered in api/routes.go without a case here fails
// the test.
func TestEveryRouteThroughTheDaemon(t *testing.T) {
	w := newRouteWorld(t)
	tested := map[string]bool{}
	for _, rc := range routeCases() {
		tested[rc.route] = true
		if !t.Run(rc.route, func(t *testing.T) { rc.run(t, w) }) {
			t.Fatalf("stopping: the later routes build on %s", rc.route)
		}
	}
	registered := apiRoutes(t)
	for r := range registered {
		if !tested[r] {
			t.Errorf("route %s (api/routes.go) has no case in routeCases", r)
		}
	}
	for r := range tested {
		if !registered[r] {
			t.Errorf("case %s is not a route of api/routes.go", r)
		}
	}
}

func routeCases() []routeCase {
	var cases []routeCase
	for _, group := range [][]routeCase{
		publicAndAuthCases(), settingsAndStatusCases(), connectionCases(), providerCases(), notificationCases(),
		scheduleCases(), backupCases(), restoreCases(), eventsCases(), deleteCases(), configCases(), tokenCases(),
		sessionEndCases(),
	} {
		cases = append(cases, group...)
	}
	return cases
}

func publicAndAuthCases() []routeCase {
	return []routeCase{
		{"GET /livez", func(t *testing.T, w *routeWorld) {
			if code, _, b := w.send(t, "GET", "/livez", "", nil); code != http.StatusOK {
				t.Errorf("/livez: %d %s", code, b)
			}
		}},
		{"GET /readyz", func(t *testing.T, w *routeWorld) {
			if code, _, b := w.send(t, "GET", "/readyz", "", nil); code != http.StatusOK {
				t.Errorf("/readyz: %d %s (a daemon with an accepted jagad.yaml is ready)", code, b)
			}
		}},
		{"GET /api/health", func(t *testing.T, w *routeWorld) {
			var h obj
			w.call(t, "GET", "/api/health", nil, http.StatusOK, &h)
			if h["status"] != "ok" || h["version"] != version || h["encryption"] != true || h["providers"] != true || h["legacy_storage"] != false {
				t.Errorf("health %v: want ok, encryption (JAGAD_ENCRYPTION_KEY) and providers (jagad.yaml)", h)
			}
		}},
		{"POST /api/auth/login", func(t *testing.T, w *routeWorld) {
			if code, _, b := w.send(t, "POST", "/api/auth/login", "", map[string]string{"username": "admin", "password": "wrong"}); code != http.StatusUnauthorized {
				t.Errorf("wrong password: %d %s", code, b)
			}
			w.token = w.login(t, w.adminPW)
		}},
		{"GET /api/auth/check", func(t *testing.T, w *routeWorld) {
			var c obj
			w.call(t, "GET", "/api/auth/check", nil, http.StatusOK, &c)
			if exp, _ := time.Parse(time.RFC3339, str(c, "expires")); c["user"] != "admin" || !exp.After(time.Now()) {
				t.Errorf("check: %v", c)
			}
			if code, _, _ := w.send(t, "GET", "/api/auth/check", "", nil); code != http.StatusUnauthorized {
				t.Errorf("check without a session: %d", code)
			}
		}},
		{"GET /metrics", func(t *testing.T, w *routeWorld) {
			code, _, b := w.send(t, "GET", "/metrics", "", nil)
			s := parseScrape(t, b)
			if code != http.StatusOK || s.values[`jagad_config_last_reload_successful`] != 1 ||
				s.values[`jagad_build_info{commit="`+commit+`",version="`+version+`"}`] != 1 {
				t.Errorf("/metrics: %d, reload successful %v", code, s.values[`jagad_config_last_reload_successful`])
			}
		}},
	}
}

func settingsAndStatusCases() []routeCase {
	return []routeCase{
		{"GET /api/config/status", func(t *testing.T, w *routeWorld) {
			var st obj
			w.call(t, "GET", "/api/config/status", nil, http.StatusOK, &st)
			if st["path"] != w.cfgPath || st["healthy"] != true || num(st, "generation") < 1 ||
				!strings.HasPrefix(str(st, "file_digest"), "sha256:") || len(st["overrides"].([]any)) != 0 {
				t.Errorf("config status: %v", st)
			}
		}},
		{"GET /api/settings", func(t *testing.T, w *routeWorld) {
			var s map[string]string
			w.call(t, "GET", "/api/settings", nil, http.StatusOK, &s)
			if s["timezone"] != "UTC" || s["compression"] != "zstd" || s["version"] != version || s["retention_full_default"] == "" {
				t.Errorf("settings: %v (want the file's timezone and compression)", s)
			}
		}},
		{"PUT /api/settings", func(t *testing.T, w *routeWorld) {
			var s map[string]string
			w.call(t, "PUT", "/api/settings", map[string]string{"retention_full_default": "9"}, http.StatusOK, &s)
			w.call(t, "GET", "/api/settings", nil, http.StatusOK, &s)
			if s["retention_full_default"] != "9" {
				t.Errorf("retention_full_default after PUT: %v", s)
			}
			w.refused(t, "PUT", "/api/settings", map[string]string{"compression": "gzip"}, http.StatusConflict, `setting "compression" is managed by jagad.yaml`)
		}},
	}
}

func connectionCases() []routeCase {
	return []routeCase{
		{"GET /api/connections", func(t *testing.T, w *routeWorld) {
			var l list
			body := w.call(t, "GET", "/api/connections", nil, http.StatusOK, &l)
			c := byName(t, l, "name", "pg")
			if c["managed_by"] != "file" || c["host"] != w.pg.Host || num(c, "port") != int64(w.pg.Port) || strings.Contains(string(body), w.pg.Password) {
				t.Errorf("file connection: %v", c)
			}
			w.ids["file-conn"] = str(c, "id")
		}},
		{"POST /api/connections", func(t *testing.T, w *routeWorld) {
			var c obj
			body := w.call(t, "POST", "/api/connections", map[string]any{"name": "api-pg", "db_type": "postgresql",
				"host": w.pg.Host, "port": w.pg.Port, "username": w.pg.User, "password": w.pg.Password, "ssl_mode": "require"}, http.StatusCreated, &c)
			if c["managed_by"] != "api" || c["name"] != "api-pg" || strings.Contains(string(body), w.pg.Password) {
				t.Errorf("created connection: %s", body)
			}
			w.ids["api-conn"] = str(c, "id")
			w.refused(t, "POST", "/api/connections", map[string]any{"name": "pg", "db_type": "postgresql", "host": "h", "username": "u"},
				http.StatusConflict, `connection "pg" is managed by jagad.yaml`)
		}},
		{"GET /api/connections/:id", func(t *testing.T, w *routeWorld) {
			var c obj
			w.call(t, "GET", "/api/connections/"+w.ids["api-conn"], nil, http.StatusOK, &c)
			if c["name"] != "api-pg" || c["ssl_mode"] != "require" {
				t.Errorf("GET connection: %v", c)
			}
			w.call(t, "GET", "/api/connections/conn_nope", nil, http.StatusNotFound, nil)
		}},
		{"PUT /api/connections/:id", func(t *testing.T, w *routeWorld) {
			var c obj
			w.call(t, "PUT", "/api/connections/"+w.ids["api-conn"], map[string]any{"ssl_mode": "disable"}, http.StatusOK, &c)
			w.call(t, "GET", "/api/connections/"+w.ids["api-conn"], nil, http.StatusOK, &c)
			if c["ssl_mode"] != "disable" || c["host"] != w.pg.Host {
				t.Errorf("after PUT: %v", c)
			}
			w.refused(t, "PUT", "/api/connections/"+w.ids["file-conn"], map[string]any{"host": "x"}, http.StatusConflict, "managed by jagad.yaml")
		}},
		{"POST /api/connections/:id/test", func(t *testing.T, w *routeWorld) {
			for _, id := range []string{w.ids["api-conn"], w.ids["file-conn"]} {
				var r obj
				if w.call(t, "POST", "/api/connections/"+id+"/test", nil, http.StatusOK, &r); r["success"] != true {
					t.Errorf("test of %s: %v", id, r)
				}
			}
			// _new: before saving; a wrong password fails without echoing it.
			var r obj
			w.call(t, "POST", "/api/connections/_new/test", map[string]any{"db_type": "postgresql", "host": w.pg.Host,
				"port": w.pg.Port, "username": w.pg.User, "password": "wrong-pw-5831", "ssl_mode": "disable"}, http.StatusOK, &r)
			if r["success"] != false || str(r, "error") == "" || strings.Contains(str(r, "error"), "wrong-pw-5831") {
				t.Errorf("_new test with a wrong password: %v", r)
			}
		}},
		{"POST /api/connections/:id/discover", func(t *testing.T, w *routeWorld) {
			var l list
			w.call(t, "POST", "/api/connections/"+w.ids["api-conn"]+"/discover", nil, http.StatusOK, &l)
			d := byName(t, l, "db_name", w.src)
			if d["connection_id"] != w.ids["api-conn"] {
				t.Errorf("discovered: %v", d)
			}
			w.ids["api-db"] = str(d, "id")
		}},
		{"POST /api/connections/:id/archive/verify", func(t *testing.T, w *routeWorld) {
			// The world's connections archive nothing (the archive tests run
			// real archives: engine TestVerifyBaseFollowsWAL, api chains_test).
			var e map[string]any
			w.call(t, "POST", "/api/connections/"+w.ids["file-conn"]+"/archive/verify", nil, http.StatusBadRequest, &e)
			if msg, _ := e["error"].(string); !strings.Contains(msg, "archives nothing") {
				t.Errorf("archive verify without an archive: %v", e)
			}
			w.call(t, "POST", "/api/connections/con_missing/archive/verify", nil, http.StatusNotFound, nil)
		}},
		{"GET /api/connections/:id/databases", func(t *testing.T, w *routeWorld) {
			var l list
			w.call(t, "GET", "/api/connections/"+w.ids["file-conn"]+"/databases", nil, http.StatusOK, &l)
			d := byName(t, l, "db_name", w.src)
			if d["managed_by"] != "file" || d["is_selected"] != true {
				t.Errorf("file database: %v", d)
			}
			w.ids["file-db"] = str(d, "id")
			w.call(t, "GET", "/api/connections/"+w.ids["api-conn"]+"/databases", nil, http.StatusOK, &l)
			byName(t, l, "db_name", w.src) // stored by discover
		}},
		{"PUT /api/connections/:id/:dbid", func(t *testing.T, w *routeWorld) {
			selected := func() any {
				var l list
				w.call(t, "GET", "/api/connections/"+w.ids["api-conn"]+"/databases", nil, http.StatusOK, &l)
				return byName(t, l, "id", w.ids["api-db"])["is_selected"]
			}
			for _, want := range []bool{false, true} {
				w.call(t, "PUT", "/api/connections/databases/"+w.ids["api-db"], map[string]any{"is_selected": want}, http.StatusNoContent, nil)
				if got := selected(); got != want {
					t.Errorf("is_selected after PUT %v: %v", want, got)
				}
			}
			w.refused(t, "PUT", "/api/connections/databases/"+w.ids["file-db"], map[string]any{"is_selected": false}, http.StatusConflict, "managed by jagad.yaml")
		}},
	}
}

func providerCases() []routeCase {
	return []routeCase{
		{"GET /api/storage-providers", func(t *testing.T, w *routeWorld) {
			var l list
			w.call(t, "GET", "/api/storage-providers", nil, http.StatusOK, &l)
			p := byName(t, l, "name", "local")
			if p["managed_by"] != "file" || p["path"] != w.dirs["local"] || p["provider_type"] != "local" {
				t.Errorf("file provider: %v", p)
			}
			w.ids["file-prov"] = str(p, "id")
		}},
		{"POST /api/storage-providers", func(t *testing.T, w *routeWorld) {
			w.dirs["api-local"] = t.TempDir()
			var p obj
			w.call(t, "POST", "/api/storage-providers", map[string]any{"name": "api-local", "provider_type": "local", "path": t.TempDir()}, http.StatusCreated, &p)
			if p["managed_by"] != "api" || p["is_default"] != true {
				t.Errorf("created provider: %v (jagad.yaml names no default, so the first made through the API is)", p)
			}
			w.ids["api-prov"] = str(p, "id")
		}},
		{"GET /api/storage-providers/:id", func(t *testing.T, w *routeWorld) {
			var p obj
			w.call(t, "GET", "/api/storage-providers/"+w.ids["api-prov"], nil, http.StatusOK, &p)
			if p["name"] != "api-local" {
				t.Errorf("GET provider: %v", p)
			}
		}},
		{"PUT /api/storage-providers/:id", func(t *testing.T, w *routeWorld) {
			var p obj
			w.call(t, "PUT", "/api/storage-providers/"+w.ids["api-prov"], map[string]any{"path": w.dirs["api-local"]}, http.StatusOK, &p)
			w.call(t, "GET", "/api/storage-providers/"+w.ids["api-prov"], nil, http.StatusOK, &p)
			if p["path"] != w.dirs["api-local"] {
				t.Errorf("path after PUT: %v", p)
			}
			w.refused(t, "PUT", "/api/storage-providers/"+w.ids["file-prov"], map[string]any{"path": "/tmp"}, http.StatusConflict, "managed by jagad.yaml")
		}},
		{"POST /api/storage-providers/:id/test", func(t *testing.T, w *routeWorld) {
			for _, id := range []string{w.ids["api-prov"], w.ids["file-prov"]} {
				var r obj
				if w.call(t, "POST", "/api/storage-providers/"+id+"/test", nil, http.StatusOK, &r); r["success"] != true {
					t.Errorf("test of %s: %v", id, r)
				}
			}
		}},
		{"POST /api/storage-providers/:id/set-default", func(t *testing.T, w *routeWorld) {
			var spare obj
			w.call(t, "POST", "/api/storage-providers", map[string]any{"name": "api-spare", "provider_type": "local", "path": t.TempDir()}, http.StatusCreated, &spare)
			defaults := func() map[string]bool {
				var l list
				w.call(t, "GET", "/api/storage-providers", nil, http.StatusOK, &l)
				out := map[string]bool{}
				for _, p := range l {
					out[str(p, "name")] = p["is_default"] == true
				}
				return out
			}
			for _, name := range []string{"api-spare", "api-local"} {
				id := map[string]string{"api-spare": str(spare, "id"), "api-local": w.ids["api-prov"]}[name]
				var p obj
				if w.call(t, "POST", "/api/storage-providers/"+id+"/set-default", nil, http.StatusOK, &p); p["is_default"] != true {
					t.Errorf("set-default %s: %v", name, p)
				}
				if d := defaults(); !d[name] || len(d) != 3 || d["api-spare"] && d["api-local"] || d["local"] {
					t.Errorf("defaults after set-default %s: %v", name, d)
				}
			}
			w.call(t, "DELETE", "/api/storage-providers/"+str(spare, "id"), nil, http.StatusNoContent, nil)
		}},
	}
}

func notificationCases() []routeCase {
	return []routeCase{
		{"GET /api/notifications", func(t *testing.T, w *routeWorld) {
			var l list
			body := w.call(t, "GET", "/api/notifications", nil, http.StatusOK, &l)
			for _, n := range []string{"spare-1", "spare-2", "spare-3"} {
				if byName(t, l, "name", n)["managed_by"] != "file" {
					t.Errorf("%s is not file-managed: %v", n, l)
				}
			}
			if strings.Contains(string(body), w.hookSrv.URL) {
				t.Errorf("webhook urls are secrets, shown: %s", body)
			}
		}},
		{"POST /api/notifications", func(t *testing.T, w *routeWorld) {
			var n obj
			body := w.call(t, "POST", "/api/notifications", map[string]any{"name": "api-hook", "notif_type": "webhook",
				"config_json": `{"url":"` + w.hookSrv.URL + `/api-hook","headers":{"X-Token":"routes-hook-token"}}`}, http.StatusCreated, &n)
			if n["managed_by"] != "api" || strings.Contains(string(body), "routes-hook-token") {
				t.Errorf("created notification: %s", body)
			}
			w.ids["api-notif"] = str(n, "id")
		}},
		{"GET /api/notifications/:id", func(t *testing.T, w *routeWorld) {
			var n obj
			w.call(t, "GET", "/api/notifications/"+w.ids["api-notif"], nil, http.StatusOK, &n)
			if n["name"] != "api-hook" || n["notif_type"] != "webhook" {
				t.Errorf("GET notification: %v", n)
			}
		}},
		{"PUT /api/notifications/:id", func(t *testing.T, w *routeWorld) {
			var n obj
			w.call(t, "PUT", "/api/notifications/"+w.ids["api-notif"], map[string]any{"events": []string{"backup.failed"}}, http.StatusOK, &n)
			w.call(t, "GET", "/api/notifications/"+w.ids["api-notif"], nil, http.StatusOK, &n)
			if ev, _ := n["events"].([]any); len(ev) != 1 || ev[0] != "backup.failed" {
				t.Errorf("events after PUT: %v", n)
			}
			var spares list
			w.call(t, "GET", "/api/notifications", nil, http.StatusOK, &spares)
			w.refused(t, "PUT", "/api/notifications/"+str(byName(t, spares, "name", "spare-1"), "id"),
				map[string]any{"events": []string{}}, http.StatusConflict, "managed by jagad.yaml")
		}},
		{"POST /api/notifications/:id/test", func(t *testing.T, w *routeWorld) {
			var r obj
			w.call(t, "POST", "/api/notifications/"+w.ids["api-notif"]+"/test", nil, http.StatusOK, &r)
			got := w.hook.to("/api-hook")
			if r["status"] != "sent" || len(got) != 1 || got[0].token != "routes-hook-token" {
				t.Errorf("test: %v; the receiver got %d requests: %+v", r, len(got), got)
			}
			// Allowed on a file-managed target too.
			var l list
			w.call(t, "GET", "/api/notifications", nil, http.StatusOK, &l)
			w.call(t, "POST", "/api/notifications/"+str(byName(t, l, "name", "spare-1"), "id")+"/test", nil, http.StatusOK, &r)
			if r["status"] != "sent" || len(w.hook.to("/spare")) != 1 {
				t.Errorf("test of spare-1: %v; the receiver got %d requests", r, len(w.hook.to("/spare")))
			}
		}},
	}
}

func scheduleCases() []routeCase {
	return []routeCase{
		{"GET /api/schedules", func(t *testing.T, w *routeWorld) {
			var l list
			w.call(t, "GET", "/api/schedules", nil, http.StatusOK, &l)
			sc := byName(t, l, "name", "nightly")
			w.ids["file-sched"] = str(sc, "id")
			if sc["managed_by"] != "file" || sc["database_id"] != w.ids["file-db"] || sc["encryption_enabled"] != true {
				t.Errorf("file schedule: %v (encryption defaults on with JAGAD_ENCRYPTION_KEY)", sc)
			}
			// next_run_at comes from the engine's scheduler: 03:00 in the file's zone (UTC).
			w.waitFor(t, "/api/schedules/"+w.ids["file-sched"], "next_run_at 03:00 UTC", atClock(3, 0))
			w.call(t, "GET", "/api/schedules?connection_id="+w.ids["api-conn"], nil, http.StatusOK, &l)
			if len(l) != 0 {
				t.Errorf("schedules of the API connection: %v", l)
			}
		}},
		{"POST /api/schedules", func(t *testing.T, w *routeWorld) {
			var sc obj
			w.call(t, "POST", "/api/schedules", map[string]any{"connection_id": w.ids["api-conn"], "database_id": w.ids["api-db"],
				"cron_expr": "30 4 * * *", "storage_provider_id": w.ids["api-prov"], "notif_target_ids": []string{w.ids["api-notif"]}},
				http.StatusCreated, &sc)
			if sc["name"] != "api-pg-"+w.src+"-full" || num(sc, "retention_full") != 9 || sc["enabled"] != true || sc["managed_by"] != "api" {
				t.Errorf("created schedule: %v (want the derived name and retention_full from the settings)", sc)
			}
			w.ids["api-sched"] = str(sc, "id")
			// Back to the default: file-managed schedules take their
			// retention from the settings too, at the next reload.
			w.call(t, "PUT", "/api/settings", map[string]string{"retention_full_default": "7"}, http.StatusOK, nil)
			w.refused(t, "POST", "/api/schedules", map[string]any{"name": "nightly", "connection_id": w.ids["api-conn"],
				"database_id": w.ids["api-db"], "cron_expr": "@daily"}, http.StatusConflict, `schedule "nightly" is managed by jagad.yaml`)
		}},
		{"GET /api/schedules/:id", func(t *testing.T, w *routeWorld) {
			w.waitFor(t, "/api/schedules/"+w.ids["api-sched"], "next_run_at 04:30 UTC", atClock(4, 30))
			w.call(t, "GET", "/api/schedules/sch_nope", nil, http.StatusNotFound, nil)
		}},
		{"PUT /api/schedules/:id", func(t *testing.T, w *routeWorld) {
			api, file := "/api/schedules/"+w.ids["api-sched"], "/api/schedules/"+w.ids["file-sched"]
			w.call(t, "PUT", api, map[string]any{"cron_expr": "45 5 * * *"}, http.StatusOK, nil)
			w.waitFor(t, api, "next_run_at 05:45 UTC after the PUT", atClock(5, 45))
			// A file-managed schedule: only enabled changes, as an override.
			w.refused(t, "PUT", file, map[string]any{"cron_expr": "0 4 * * *"}, http.StatusConflict, `schedule "nightly" is managed by jagad.yaml`)
			var sc obj
			w.call(t, "PUT", file, map[string]any{"enabled": false}, http.StatusOK, &sc)
			if sc["enabled"] != false || sc["override"] == nil {
				t.Errorf("override: %v", sc)
			}
			w.waitFor(t, file, "no next run while disabled", func(o obj) bool { return o["next_run_at"] == nil })
			var st struct{ Overrides []struct{ ID, Kind string } }
			w.call(t, "GET", "/api/config/status", nil, http.StatusOK, &st)
			if len(st.Overrides) != 1 || st.Overrides[0].ID != w.ids["file-sched"] {
				t.Errorf("config status overrides: %+v", st.Overrides)
			}
			w.call(t, "PUT", file, map[string]any{"enabled": true}, http.StatusOK, &sc)
			if sc["override"] != nil || sc["enabled"] != true {
				t.Errorf("override not cleared: %v", sc)
			}
			w.waitFor(t, file, "next_run_at 03:00 UTC again", atClock(3, 0))
		}},
		{"POST /api/schedules/:id/run", func(t *testing.T, w *routeWorld) {
			var r obj
			w.call(t, "POST", "/api/schedules/"+w.ids["file-sched"]+"/run", nil, http.StatusOK, &r)
			if r["status"] != "triggered" || r["schedule_id"] != w.ids["file-sched"] {
				t.Errorf("run: %v", r)
			}
			sc := w.waitFor(t, "/api/schedules/"+w.ids["file-sched"], "last_status success", func(o obj) bool { return o["last_status"] == "success" })
			if sc["last_run_at"] == nil {
				t.Errorf("after a run: %v", sc)
			}
			var l list
			w.call(t, "GET", "/api/backups?schedule_id="+w.ids["file-sched"], nil, http.StatusOK, &l)
			if len(l) != 1 || l[0]["storage_provider_id"] != w.ids["api-prov"] || l[0]["encryption_algo"] == "" {
				t.Fatalf("backups of the run: %v (want one, on the default provider, encrypted)", l)
			}
			w.ids["sched-backup"] = str(l[0], "id")
		}},
	}
}

func restoreCases() []routeCase {
	return []routeCase{
		{"POST /api/backups/:id/restore", func(t *testing.T, w *routeWorld) {
			target := fmt.Sprintf("routes_restored_%x", time.Now().UnixNano())
			t.Cleanup(func() { w.pg.DropDB(t, target) })
			var r obj
			w.call(t, "POST", "/api/backups/"+w.ids["backup"]+"/restore", map[string]any{"target_connection": w.ids["api-conn"],
				"target_database": target, "no_privileges": true}, http.StatusCreated, &r)
			w.ids["restore"] = str(r, "id")
			r = w.waitFor(t, "/api/restores/"+w.ids["restore"], "restore done", func(o obj) bool { return o["status"] != "running" })
			if r["status"] != "success" || r["no_privileges"] != true || r["target_database"] != target || r["restore_type"] != "full" {
				t.Fatalf("restore: %v", r)
			}
			want, got := w.pg.Checksum(t, w.src), w.pg.Checksum(t, target)
			if len(want) != 2 || !maps.Equal(want, got) {
				t.Errorf("restored tables %v, want %v", got, want)
			}
			w.refused(t, "POST", "/api/backups/"+w.ids["backup"]+"/restore", map[string]any{"target_connection": "conn_nope"},
				http.StatusNotFound, "target connection not found")
		}},
		{"GET /api/restores", func(t *testing.T, w *routeWorld) {
			var l list
			w.call(t, "GET", "/api/restores", nil, http.StatusOK, &l)
			if r := byName(t, l, "id", w.ids["restore"]); r["backup_id"] != w.ids["backup"] || r["status"] != "success" {
				t.Errorf("listed restore: %v", r)
			}
		}},
		{"GET /api/restores/:id", func(t *testing.T, w *routeWorld) {
			var r obj
			w.call(t, "GET", "/api/restores/"+w.ids["restore"], nil, http.StatusOK, &r)
			if r["target_connection"] != w.ids["api-conn"] || num(r, "duration_ms") <= 0 && r["completed_at"] == nil {
				t.Errorf("restore: %v", r)
			}
			w.call(t, "GET", "/api/restores/res_nope", nil, http.StatusNotFound, nil)
		}},
	}
}

// sendAuth sends a request with the Authorization header as given (the bare
// "jgd_…" form), without a body.
func (w *routeWorld) sendAuth(t *testing.T, method, path, auth string) int {
	t.Helper()
	req, err := http.NewRequest(method, w.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// tokenCases: API tokens made through the API and declared in jagad.yaml,
// their scopes against the routes, and revocation.
func tokenCases() []routeCase {
	return []routeCase{
		{"POST /api/tokens", func(t *testing.T, w *routeWorld) {
			var c obj
			body := w.call(t, "POST", "/api/tokens", map[string]any{"name": "ci-read", "scope": "read"}, http.StatusCreated, &c)
			secret := str(c, "token")
			if !strings.HasPrefix(secret, "jgd_") || c["scope"] != "read" || c["managed_by"] != "api" || c["expires_at"] != nil ||
				!strings.HasPrefix(str(c, "id"), "tok_") {
				t.Fatalf("created token: %s", body)
			}
			w.ids["token"], w.ids["token-secret"] = str(c, "id"), secret
			// Read routes answer; an operate route and an admin one are 403.
			if code, _, b := w.send(t, "GET", "/api/schedules/"+w.ids["file-sched"], secret, nil); code != http.StatusOK {
				t.Errorf("GET a schedule with a read token: %d %s", code, b)
			}
			if code := w.sendAuth(t, "GET", "/api/backups", secret); code != http.StatusOK {
				t.Errorf("the bare Authorization form: %d", code)
			}
			if code, _, b := w.send(t, "POST", "/api/schedules/"+w.ids["file-sched"]+"/run", secret, nil); code != http.StatusForbidden {
				t.Errorf("run with a read token: %d %s, want 403", code, b)
			}
			if code, _, b := w.send(t, "POST", "/api/tokens", secret, map[string]any{"name": "escalate", "scope": "admin"}); code != http.StatusForbidden {
				t.Errorf("a read token making a token: %d %s, want 403", code, b)
			}
			w.refused(t, "POST", "/api/tokens", map[string]any{"name": "ci-read", "scope": "admin"}, http.StatusConflict, "already exists")
		}},
		{"GET /api/tokens", func(t *testing.T, w *routeWorld) {
			var l list
			body := w.call(t, "GET", "/api/tokens", nil, http.StatusOK, &l)
			tok := byName(t, l, "name", "ci-read")
			if tok["id"] != w.ids["token"] || tok["last_used_from"] != "127.0.0.1" || tok["last_used_at"] == nil || tok["token"] != nil ||
				strings.Contains(string(body), w.ids["token-secret"]) || strings.Contains(string(body), "sha256:") {
				t.Errorf("listed token: %s", body)
			}
		}},
		{"DELETE /api/tokens/:id", func(t *testing.T, w *routeWorld) {
			// A token declared in jagad.yaml by its hash works with its
			// scope, and the API cannot delete it.
			fileSecret, hash, err := state.NewTokenSecret()
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, w.cfgPath, w.config(routesNoNotifications, "")+
				"tokens:\n  - name: ci-plan\n    scope: operate\n    hash: \""+hash+"\"\n")
			var p planAnswer
			w.call(t, "POST", "/api/config/reload", nil, http.StatusOK, &p)
			if p.has("create", "token", "ci-plan") == nil {
				t.Fatalf("reload with a token: %+v", p)
			}
			var l list
			w.call(t, "GET", "/api/tokens", nil, http.StatusOK, &l)
			ft := byName(t, l, "name", "ci-plan")
			if ft["managed_by"] != "file" {
				t.Errorf("file token: %v", ft)
			}
			if code, _, b := w.send(t, "POST", "/api/config/plan", fileSecret, w.config(routesNoNotifications, "")); code != http.StatusOK {
				t.Errorf("plan with the file token: %d %s", code, b)
			}
			if code, _, b := w.send(t, "PUT", "/api/settings", fileSecret, map[string]string{"retention_full_default": "8"}); code != http.StatusForbidden {
				t.Errorf("an admin route with an operate token: %d %s", code, b)
			}
			w.refused(t, "DELETE", "/api/tokens/"+str(ft, "id"), nil, http.StatusConflict, `token "ci-plan" is managed by jagad.yaml`)

			// Revoking the API-made token: 204, then 401.
			w.call(t, "DELETE", "/api/tokens/"+w.ids["token"], nil, http.StatusNoContent, nil)
			if code, _, _ := w.send(t, "GET", "/api/backups", w.ids["token-secret"], nil); code != http.StatusUnauthorized {
				t.Errorf("a revoked token: %d, want 401", code)
			}
			w.call(t, "DELETE", "/api/tokens/"+w.ids["token"], nil, http.StatusNotFound, nil)
			for _, s := range []string{w.ids["token-secret"], fileSecret} {
				if strings.Contains(w.od.logs.String(), s) {
					t.Errorf("a token secret is in the daemon's log")
				}
			}
		}},
	}
}
