package main

import (
	"bytes"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jagad/jagad/config"
)

// planItem is one entry of a plan as the API answers it.
type planItem struct {
	Action, Kind, Name string
	Fields             []string
}

type planAnswer struct {
	Changes int
	Held    string
	Summary string
	Items   []planItem
}

func (p planAnswer) has(action, kind, name string) *planItem {
	for i, it := range p.Items {
		if it.Action == action && it.Kind == kind && it.Name == name {
			return &p.Items[i]
		}
	}
	return nil
}

func configCases() []routeCase {
	return []routeCase{
		{"POST /api/config/plan", func(t *testing.T, w *routeWorld) {
			// The file as it is plans to nothing; with another cron, to one
			// update of the schedule, which stays as it is.
			var p planAnswer
			w.call(t, "POST", "/api/config/plan", w.config(routesSpares, ""), http.StatusOK, &p)
			if p.Changes != 0 || p.has("unchanged", "schedule", "nightly") == nil {
				t.Errorf("plan of the running file: %+v", p)
			}
			w.call(t, "POST", "/api/config/plan", w.config(routesSpares, "15 1 * * *"), http.StatusOK, &p)
			if it := p.has("update", "schedule", "nightly"); p.Changes != 1 || it == nil || strings.Join(it.Fields, ",") != "cron_expr" {
				t.Errorf("plan of a cron change: %+v", p)
			}
			w.waitFor(t, "/api/schedules/"+w.ids["file-sched"], "next_run_at still 03:00 (a plan applies nothing)", atClock(3, 0))
			w.refused(t, "POST", "/api/config/plan", "version: 1\nsettings:\n  timezone: Mars/Olympus\n", http.StatusBadRequest, "jagad.yaml:3:13")

			// `jagad plan` against the same daemon.
			file := filepath.Join(t.TempDir(), "pr.yaml")
			writeFile(t, file, w.config(routesSpares, "15 1 * * *"))
			var out, errb bytes.Buffer
			code := runPlan([]string{"-f", file}, nil, &out, &errb, mapEnv(map[string]string{
				"JAGAD_URL": w.base, "JAGAD_USER": "admin", "JAGAD_PASSWORD": w.adminPW}))
			if code != 2 || !strings.Contains(out.String(), `~ update schedule "nightly" (fields: cron_expr)`) {
				t.Errorf("jagad plan: exit %d, want 2 and the update:\n%s%s", code, out.String(), errb.String())
			}
		}},
		{"POST /api/config/reload", func(t *testing.T, w *routeWorld) {
			// Dropping the three spare notifications prunes all file-managed
			// notifications: held by the prune guard until confirmed.
			writeFile(t, w.cfgPath, w.config(routesNoNotifications, ""))
			w.refused(t, "POST", "/api/config/reload", nil, http.StatusConflict, "held by the prune guard")
			var st obj
			if w.call(t, "GET", "/api/config/status", nil, http.StatusOK, &st); st["held"] != "prune guard" || st["healthy"] != false {
				t.Errorf("status while held: %v", st)
			}
			var p planAnswer
			w.call(t, "POST", "/api/config/reload?confirm_prune=true", nil, http.StatusOK, &p)
			if p.Changes != 3 || p.has("prune", "notification", "spare-2") == nil {
				t.Errorf("confirmed reload: %+v", p)
			}
			var l list
			if w.call(t, "GET", "/api/notifications", nil, http.StatusOK, &l); len(l) != 0 {
				t.Errorf("notifications after the reload: %v", l)
			}
			var after obj
			if w.call(t, "GET", "/api/config/status", nil, http.StatusOK, &after); after["held"] != nil || after["last_error"] != nil || after["healthy"] != true {
				t.Errorf("status after the confirmed reload: %v", after)
			}
			w.refused(t, "POST", "/api/config/reload?confirm_prune=maybe", nil, http.StatusBadRequest, "confirm_prune")
		}},
		{"GET /api/config/export", func(t *testing.T, w *routeWorld) {
			// An API-made connection, so the export holds more than the file.
			w.call(t, "POST", "/api/connections", map[string]any{"name": "exported-pg", "db_type": "postgresql",
				"host": w.pg.Host, "port": w.pg.Port, "username": w.pg.User, "password": w.pg.Password}, http.StatusCreated, nil)
			code, h, b := w.send(t, "GET", "/api/config/export", w.token, nil)
			if code != http.StatusOK || !strings.Contains(h.Get("Content-Type"), "yaml") {
				t.Fatalf("export: %d %v %s", code, h, b)
			}
			// The API-made records only, secrets as ${VAR} placeholders.
			doc := string(b)
			if !strings.Contains(doc, "name: exported-pg") || !strings.Contains(doc, "password: ${CONN_EXPORTED_PG_PASSWORD}") ||
				strings.Contains(doc, "name: pg\n") || strings.Contains(doc, w.pg.Password) {
				t.Errorf("export:\n%s", doc)
			}
			_, rep := config.Parse("export.yaml", b, config.Options{Resolve: true,
				LookupEnv: mapEnv(map[string]string{"CONN_EXPORTED_PG_PASSWORD": "x"})})
			if err := rep.Err(); err != nil {
				t.Errorf("the export is not a valid jagad.yaml: %v\n%s", err, doc)
			}
		}},
	}
}

// sessionEndCases come last: the password change ends every session.
func sessionEndCases() []routeCase {
	return []routeCase{
		{"POST /api/auth/logout", func(t *testing.T, w *routeWorld) {
			other := w.login(t, w.adminPW)
			var r obj
			code, _, _ := w.send(t, "POST", "/api/auth/logout", other, nil)
			if code != http.StatusOK {
				t.Fatalf("logout: %d", code)
			}
			if code, _, _ := w.send(t, "GET", "/api/auth/check", other, nil); code != http.StatusUnauthorized {
				t.Errorf("check after logout: %d", code)
			}
			w.call(t, "GET", "/api/auth/check", nil, http.StatusOK, &r) // the other session lives on
		}},
		{"PUT /api/auth/password", func(t *testing.T, w *routeWorld) {
			w.refused(t, "PUT", "/api/auth/password", map[string]string{"current_password": "wrong", "new_password": "routes-new-pass-2"},
				http.StatusBadRequest, "current password is incorrect")
			var r obj
			w.call(t, "PUT", "/api/auth/password", map[string]string{"current_password": w.adminPW, "new_password": "routes-new-pass-2"}, http.StatusOK, &r)
			if r["success"] != true {
				t.Errorf("password change: %v", r)
			}
			if code, _, _ := w.send(t, "GET", "/api/auth/check", w.token, nil); code != http.StatusUnauthorized {
				t.Errorf("old session after a password change: %d", code)
			}
			if code, _, _ := w.send(t, "POST", "/api/auth/login", "", map[string]string{"username": "admin", "password": w.adminPW}); code != http.StatusUnauthorized {
				t.Errorf("login with the old password: %d", code)
			}
			w.token = w.login(t, "routes-new-pass-2")
		}},
	}
}
