package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/state"
)

// Reference field names (jagad-api-reference.txt) plus the documented additions.
var (
	connFields  = []string{"id", "name", "db_type", "host", "port", "username", "ssl_mode", "created_at", "updated_at", "managed_by"}
	dbFields    = []string{"id", "connection_id", "db_name", "is_selected", "size_bytes", "created_at"}
	provFields  = []string{"id", "name", "provider_type", "endpoint", "region", "bucket", "access_key", "secret_key", "path_style", "is_default", "created_at", "updated_at", "managed_by", "path", "prefix"}
	notifFields = []string{"id", "name", "notif_type", "config_json", "created_at", "updated_at", "managed_by", "events"}
	schedFields = []string{"id", "connection_id", "database_id", "backup_type", "cron_expr", "storage_provider_id",
		"encryption_enabled", "verify_enabled", "retention_full", "retention_incr", "notif_target_ids", "notify_on_success",
		"notify_on_failure", "enabled", "created_at", "managed_by", "name", "override", "timeout", "next_run_at",
		"last_run_at", "last_status", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly"}
	backupFields = []string{"id", "connection_id", "database_id", "schedule_id", "backup_type", "status", "storage_path",
		"storage_provider_id", "size_bytes", "encrypted_size_bytes", "encryption_algo", "checksum", "verify_status",
		"duration_ms", "log_output", "started_at", "completed_at", "created_at", "connection_name", "database_name",
		"schedule_name", "compression", "queued_at"}
	restoreFields  = []string{"id", "backup_id", "target_connection", "status", "started_at", "created_at", "target_database"}
	statsFields    = []string{"total_backups", "total_size_bytes", "by_type", "by_status", "success_rate"}
	settingsFields = []string{"retention_full_default", "retention_incr_default", "concurrent_backups", "compression", "timezone", "notify_on_success", "notify_on_failure", "version"}
)

type endpoint struct {
	method, path string
	body         any
	status       int
	fields       []string // keys every object of the answer must have
	list         bool
}

func endpoints(f fixture) []endpoint {
	return []endpoint{
		{"GET", "/api/auth/check", nil, 200, []string{"user", "expires"}, false},
		{"GET", "/api/connections", nil, 200, connFields, true},
		{"GET", "/api/connections/" + f.conn, nil, 200, connFields, false},
		{"PUT", "/api/connections/" + f.conn, map[string]any{"host": "db2.example.com"}, 200, connFields, false},
		{"GET", "/api/connections/" + f.conn + "/databases", nil, 200, dbFields, true},
		{"PUT", "/api/connections/databases/" + f.db, map[string]any{"is_selected": true}, 204, nil, false},
		{"GET", "/api/backups", nil, 200, backupFields, true},
		{"GET", "/api/backups/stats", nil, 200, statsFields, false},
		{"GET", "/api/backups/" + f.backup, nil, 200, backupFields, false},
		{"GET", "/api/backups/" + f.backup + "/logs", nil, 200, []string{"log"}, false},
		{"POST", "/api/backups/" + f.backup + "/verify", nil, 200, []string{"status", "backup_id"}, false},
		{"POST", "/api/backups/" + f.backup + "/restore", map[string]any{"target_connection": f.conn}, 201, restoreFields, false},
		{"POST", "/api/backups", map[string]any{"connection_id": f.conn, "database_id": f.db, "backup_type": "full"}, 201, backupFields, false},
		{"GET", "/api/restores", nil, 200, restoreFields, true},
		{"GET", "/api/restores/" + f.restore, nil, 200, restoreFields, false},
		{"GET", "/api/schedules", nil, 200, schedFields, true},
		{"GET", "/api/schedules?connection_id=" + f.conn, nil, 200, schedFields, true},
		{"GET", "/api/schedules/" + f.sched, nil, 200, schedFields, false},
		{"PUT", "/api/schedules/" + f.sched, map[string]any{"cron_expr": "0 3 * * *"}, 200, schedFields, false},
		{"POST", "/api/schedules/" + f.sched + "/run", nil, 200, []string{"status", "schedule_id"}, false},
		{"GET", "/api/storage-providers", nil, 200, provFields, true},
		{"GET", "/api/storage-providers/" + f.prov, nil, 200, provFields, false},
		{"PUT", "/api/storage-providers/" + f.prov, map[string]any{"region": "us-east-1", "secret_key": mask}, 200, provFields, false},
		{"POST", "/api/storage-providers/" + f.prov + "/test", nil, 200, []string{"success", "message"}, false},
		{"POST", "/api/storage-providers/" + f.prov + "/set-default", nil, 200, provFields, false},
		{"GET", "/api/notifications", nil, 200, notifFields, true},
		{"GET", "/api/notifications/" + f.notif, nil, 200, notifFields, false},
		{"PUT", "/api/notifications/" + f.notif, map[string]any{"name": "tg2"}, 200, notifFields, false},
		{"POST", "/api/notifications/" + f.notif + "/test", nil, 200, []string{"status"}, false},
		{"GET", "/api/settings", nil, 200, settingsFields, false},
		{"PUT", "/api/settings", map[string]any{"retention_full_default": "14"}, 200, settingsFields, false},
		{"GET", "/api/config/status", nil, 200, []string{"generation", "healthy"}, false},
		{"POST", "/api/config/plan", "version: 1\n", 200, []string{"changes", "summary", "items"}, false},
		{"POST", "/api/config/reload", nil, 200, []string{"changes", "summary", "items"}, false},
		{"GET", "/api/config/export", nil, 200, nil, false},
	}
}

func hasFields(t *testing.T, ep endpoint, body []byte) {
	t.Helper()
	var objs []map[string]any
	if ep.list {
		if err := json.Unmarshal(body, &objs); err != nil {
			t.Fatalf("%s %s: not a JSON list: %s", ep.method, ep.path, body)
		}
		if len(objs) == 0 {
			t.Fatalf("%s %s: empty list", ep.method, ep.path)
		}
	} else {
		var o map[string]any
		if err := json.Unmarshal(body, &o); err != nil {
			t.Fatalf("%s %s: not a JSON object: %s", ep.method, ep.path, body)
		}
		objs = []map[string]any{o}
	}
	for _, o := range objs {
		for _, k := range ep.fields {
			if _, ok := o[k]; !ok {
				t.Errorf("%s %s: field %q missing in %v", ep.method, ep.path, k, o)
			}
		}
		if _, ok := o["password"]; ok {
			t.Errorf("%s %s: password returned", ep.method, ep.path)
		}
	}
}

func TestContractSuccessShapes(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	for _, ep := range endpoints(f) {
		w := e.send(req{method: ep.method, path: ep.path, body: ep.body,
			header: map[string]string{"Content-Type": contentTypeFor(ep)}})
		if w.Code != ep.status {
			t.Errorf("%s %s: status %d, want %d: %s", ep.method, ep.path, w.Code, ep.status, w.Body)
			continue
		}
		if ep.fields != nil {
			hasFields(t, ep, w.Body.Bytes())
		}
		if strings.HasPrefix(ep.path, "/api/") && w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s: Cache-Control %q", ep.method, ep.path, w.Header().Get("Cache-Control"))
		}
	}
	// Health is public and shaped as the reference says.
	w := e.send(req{method: "GET", path: "/api/health", noAuth: true})
	hasFields(t, endpoint{method: "GET", path: "/api/health", fields: []string{"status", "version", "encryption", "providers", "legacy_storage"}}, w.Body.Bytes())
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"version":"1.2.3"`) {
		t.Errorf("health: %d %s", w.Code, w.Body)
	}
	for _, h := range []string{"X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"} {
		if w.Header().Get(h) == "" {
			t.Errorf("health: header %s missing", h)
		}
	}
	if w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS header set")
	}
}

func contentTypeFor(ep endpoint) string {
	if _, ok := ep.body.(string); ok {
		return "application/yaml"
	}
	return "application/json"
}

func TestContractDeletes(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	// A connection, provider or notification in use by a schedule cannot go.
	for _, p := range []string{"/api/connections/" + f.conn, "/api/storage-providers/" + f.prov, "/api/notifications/" + f.notif} {
		if w := e.send(req{method: "DELETE", path: p}); w.Code != http.StatusConflict || !strings.Contains(errMsg(t, w), "used by schedule") {
			t.Errorf("DELETE %s: %d %s", p, w.Code, w.Body)
		}
	}
	e.call("DELETE", "/api/schedules/"+f.sched, nil, 204)
	e.call("DELETE", "/api/backups/"+f.backup, nil, 204)
	e.call("DELETE", "/api/connections/"+f.conn, nil, 204)
	e.call("DELETE", "/api/storage-providers/"+f.prov, nil, 204)
	e.call("DELETE", "/api/notifications/"+f.notif, nil, 204)
	for _, p := range []string{"/api/schedules/" + f.sched, "/api/backups/" + f.backup, "/api/connections/" + f.conn,
		"/api/storage-providers/" + f.prov, "/api/notifications/" + f.notif} {
		e.call("GET", p, nil, 404)
	}
	// The connection's database records went with it.
	err := e.store.View(func(tx *state.Tx) error {
		_, err := state.Get[state.Database](tx, f.db)
		return err
	})
	if err == nil {
		t.Error("database record survived its connection")
	}
}

func TestUnauthorized(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	before := len(e.eng.calls)
	expired := "expired-token-0123456789"
	past := time.Now().Add(-time.Hour)
	err := e.store.Update(func(tx *state.Tx) error {
		return tx.PutSession(state.Session{TokenHash: hashToken(expired), User: testUser,
			CreatedAt: past.Add(-sessionTTL), ExpiresAt: past})
	})
	if err != nil {
		t.Fatal(err)
	}
	eps := append(endpoints(f),
		endpoint{method: "DELETE", path: "/api/connections/" + f.conn},
		endpoint{method: "POST", path: "/api/connections", body: map[string]any{}},
		endpoint{method: "PUT", path: "/api/auth/password", body: map[string]any{"current_password": testPass, "new_password": "xxxxxxxx"}},
		endpoint{method: "GET", path: "/api/backups/" + f.backup + "/download"},
		endpoint{method: "POST", path: "/api/connections/" + f.conn + "/discover"},
		endpoint{method: "POST", path: "/api/connections/_new/test", body: map[string]any{}},
	)
	cases := []struct {
		name string
		r    req
	}{
		{"no token", req{noAuth: true}},
		{"expired token", req{token: expired}},
		{"forged token", req{token: strings.Repeat("ab", 32)}},
		{"forged cookie", req{token: strings.Repeat("cd", 32), cookie: true}},
	}
	for _, c := range cases {
		for _, ep := range eps {
			r := c.r
			r.method, r.path, r.body = ep.method, ep.path, ep.body
			w := e.send(r)
			if w.Code != http.StatusUnauthorized || errMsg(t, w) != "unauthorized" {
				t.Errorf("%s: %s %s: %d %s", c.name, ep.method, ep.path, w.Code, w.Body)
			}
		}
	}
	// Nothing was changed or started by the refused requests.
	if len(e.eng.calls) != before {
		t.Errorf("engine called: %v", e.eng.calls[before:])
	}
}

func TestNotFound(t *testing.T) {
	e := newEnv(t)
	newFixture(e)
	for _, c := range []struct{ method, path, msg string }{
		{"GET", "/api/connections/conn_nope", "connection not found"},
		{"PUT", "/api/connections/conn_nope", "connection not found"},
		{"DELETE", "/api/connections/conn_nope", "connection not found"},
		{"POST", "/api/connections/conn_nope/test", "connection not found"},
		{"GET", "/api/connections/conn_nope/databases", "connection not found"},
		{"POST", "/api/connections/conn_nope/discover", "connection not found"},
		{"PUT", "/api/connections/databases/db_nope", "database not found"},
		{"GET", "/api/backups/bck_nope", "backup not found"},
		{"DELETE", "/api/backups/bck_nope", "backup not found"},
		{"GET", "/api/backups/bck_nope/logs", "backup not found"},
		{"GET", "/api/backups/bck_nope/download", "backup not found"},
		{"POST", "/api/backups/bck_nope/verify", "backup not found"},
		{"POST", "/api/backups/bck_nope/restore", "backup not found"},
		{"GET", "/api/restores/res_nope", "restore not found"},
		{"GET", "/api/schedules/sch_nope", "schedule not found"},
		{"PUT", "/api/schedules/sch_nope", "schedule not found"},
		{"DELETE", "/api/schedules/sch_nope", "schedule not found"},
		{"POST", "/api/schedules/sch_nope/run", "schedule not found"},
		{"GET", "/api/storage-providers/prov_nope", "storage provider not found"},
		{"PUT", "/api/storage-providers/prov_nope", "storage provider not found"},
		{"DELETE", "/api/storage-providers/prov_nope", "storage provider not found"},
		{"POST", "/api/storage-providers/prov_nope/test", "storage provider not found"},
		{"POST", "/api/storage-providers/prov_nope/set-default", "storage provider not found"},
		{"GET", "/api/notifications/notif_nope", "notification not found"},
		{"PUT", "/api/notifications/notif_nope", "notification not found"},
		{"DELETE", "/api/notifications/notif_nope", "notification not found"},
		{"POST", "/api/notifications/notif_nope/test", "notification not found"},
		{"GET", "/api/nothing-here", "not found"},
	} {
		var body any
		if c.method == "PUT" {
			body = map[string]any{}
			if strings.Contains(c.path, "databases/") {
				body = map[string]any{"is_selected": false}
			}
		}
		w := e.send(req{method: c.method, path: c.path, body: body})
		if w.Code != http.StatusNotFound || errMsg(t, w) != c.msg {
			t.Errorf("%s %s: %d %s, want 404 %q", c.method, c.path, w.Code, w.Body, c.msg)
		}
	}
}
