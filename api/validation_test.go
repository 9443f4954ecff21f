package api

import (
	"net/http"
	"strings"
	"testing"
)

func TestBadRequests(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	writes := []struct{ method, path string }{
		{"POST", "/api/connections"},
		{"PUT", "/api/connections/" + f.conn},
		{"POST", "/api/connections/_new/test"},
		{"PUT", "/api/connections/databases/" + f.db},
		{"POST", "/api/backups"},
		{"POST", "/api/backups/" + f.backup + "/restore"},
		{"POST", "/api/schedules"},
		{"PUT", "/api/schedules/" + f.sched},
		{"POST", "/api/storage-providers"},
		{"PUT", "/api/storage-providers/" + f.prov},
		{"POST", "/api/notifications"},
		{"PUT", "/api/notifications/" + f.notif},
		{"PUT", "/api/settings"},
		{"POST", "/api/auth/login"},
		{"PUT", "/api/auth/password"},
	}
	for _, wr := range writes {
		for _, c := range []struct{ name, body, want string }{
			{"bad JSON", `{"name":`, "invalid JSON"},
			{"not JSON", `hello`, "invalid JSON"},
			{"unknown field", `{"no_such_field":1}`, `unknown field "no_such_field"`},
			{"two values", `{} {}`, "single JSON value"},
		} {
			if wr.path == "/api/settings" && c.name == "unknown field" {
				c.want = "unknown setting: no_such_field" // the reference's wording for settings
			}
			w := e.send(req{method: wr.method, path: wr.path, body: c.body})
			if w.Code != http.StatusBadRequest || !strings.Contains(errMsg(t, w), c.want) {
				t.Errorf("%s %s %s: %d %s, want 400 containing %q", c.name, wr.method, wr.path, w.Code, w.Body, c.want)
			}
		}
	}

	cases := []struct {
		name, method, path string
		body               any
		want               string
	}{
		{"conn wrong type", "POST", "/api/connections", `{"name":"x","port":"5432"}`, `invalid value for field "port": expected number`},
		{"conn missing", "POST", "/api/connections", map[string]any{}, `missing required field "name"`},
		{"conn missing host", "POST", "/api/connections", map[string]any{"name": "n", "db_type": "postgresql", "username": "u"}, `missing required field "host"`},
		{"conn bad db_type", "POST", "/api/connections", map[string]any{"name": "n", "db_type": "oracle", "host": "h", "username": "u"}, `invalid value for field "db_type"`},
		{"conn bad port", "PUT", "/api/connections/" + f.conn, map[string]any{"port": 70000}, `invalid value for field "port"`},
		{"conn flag host", "POST", "/api/connections/_new/test", map[string]any{"db_type": "postgresql", "host": "-oProxy", "username": "u"}, `invalid value for field "host"`},
		{"db missing", "PUT", "/api/connections/databases/" + f.db, map[string]any{}, `missing required field "is_selected"`},
		{"db wrong type", "PUT", "/api/connections/databases/" + f.db, `{"is_selected":"yes"}`, `invalid value for field "is_selected": expected boolean`},
		{"backup missing", "POST", "/api/backups", map[string]any{}, `missing required field "connection_id"`},
		{"backup bad conn", "POST", "/api/backups", map[string]any{"connection_id": "conn_x", "database_id": f.db}, `invalid value for field "connection_id": connection "conn_x" not found`},
		{"backup bad db", "POST", "/api/backups", map[string]any{"connection_id": f.conn, "database_id": "db_x"}, `invalid value for field "database_id"`},
		{"backup bad type", "POST", "/api/backups", map[string]any{"connection_id": f.conn, "database_id": f.db, "backup_type": "diff"}, `invalid value for field "backup_type"`},
		{"backup bad notif", "POST", "/api/backups", map[string]any{"connection_id": f.conn, "database_id": f.db, "notif_target_ids": []string{"notif_x"}}, `invalid value for field "notif_target_ids[0]"`},
		{"backup wrong type", "POST", "/api/backups", `{"notif_target_ids":"x"}`, `invalid value for field "notif_target_ids": expected array`},
		{"restore bad db name", "POST", "/api/backups/" + f.backup + "/restore", map[string]any{"target_database": "../x"}, `invalid value for field "target_database"`},
		{"sched missing cron", "POST", "/api/schedules", map[string]any{"connection_id": f.conn, "database_id": f.db}, `missing required field "cron_expr"`},
		{"sched bad cron", "POST", "/api/schedules", map[string]any{"connection_id": f.conn, "database_id": f.db, "cron_expr": "61 * * * *"}, `invalid value for field "cron_expr"`},
		{"sched seconds cron", "PUT", "/api/schedules/" + f.sched, map[string]any{"cron_expr": "0 0 2 * * *"}, `invalid value for field "cron_expr"`},
		{"sched bad provider", "POST", "/api/schedules", map[string]any{"connection_id": f.conn, "database_id": f.db, "cron_expr": "@daily", "storage_provider_id": "prov_x"}, `invalid value for field "storage_provider_id"`},
		{"sched bad notif", "PUT", "/api/schedules/" + f.sched, map[string]any{"notif_target_ids": []string{"notif_x"}}, `invalid value for field "notif_target_ids[0]"`},
		{"sched bad conn", "POST", "/api/schedules", map[string]any{"connection_id": "conn_x", "database_id": f.db, "cron_expr": "@daily"}, `invalid value for field "connection_id"`},
		{"sched bad retention", "PUT", "/api/schedules/" + f.sched, map[string]any{"retention_full": -1}, `invalid value for field "retention_full"`},
		{"sched bad timeout", "PUT", "/api/schedules/" + f.sched, map[string]any{"timeout": "soon"}, `invalid value for field "timeout"`},
		{"sched bad type", "PUT", "/api/schedules/" + f.sched, map[string]any{"backup_type": "diff"}, `invalid value for field "backup_type"`},
		{"sched wrong type", "PUT", "/api/schedules/" + f.sched, `{"enabled":"no"}`, `invalid value for field "enabled": expected boolean`},
		{"prov missing", "POST", "/api/storage-providers", map[string]any{}, `missing required field "name"`},
		{"prov bad type", "POST", "/api/storage-providers", map[string]any{"name": "p", "provider_type": "ftp"}, `invalid value for field "provider_type"`},
		{"prov local relative", "POST", "/api/storage-providers", map[string]any{"name": "p", "provider_type": "local", "path": "rel/dir"}, `invalid value for field "path"`},
		{"prov bad bucket", "PUT", "/api/storage-providers/" + f.prov, map[string]any{"bucket": "x"}, `invalid value for field "bucket"`},
		{"notif missing", "POST", "/api/notifications", map[string]any{"name": "n", "notif_type": "telegram"}, `missing required field "config_json"`},
		{"notif bad type", "POST", "/api/notifications", map[string]any{"name": "n", "notif_type": "pager", "config_json": "{}"}, `invalid value for field "notif_type"`},
		{"notif not object", "POST", "/api/notifications", map[string]any{"name": "n", "notif_type": "slack", "config_json": "[1]"}, `invalid value for field "config_json"`},
		{"notif missing key", "POST", "/api/notifications", map[string]any{"name": "n", "notif_type": "slack", "config_json": "{}"}, `config_json.webhook_url`},
		{"notif masked create", "POST", "/api/notifications", map[string]any{"name": "n", "notif_type": "slack", "config_json": `{"webhook_url":"` + mask + `"}`}, `config_json.webhook_url`},
		{"notif bad event", "PUT", "/api/notifications/" + f.notif, map[string]any{"events": []string{"backup.maybe"}}, `invalid value for field "events[0]"`},
		{"notif wrong type", "POST", "/api/notifications", `{"config_json":{"a":1}}`, `invalid value for field "config_json": expected string`},
		{"settings unknown", "PUT", "/api/settings", map[string]any{"colour": "blue"}, "unknown setting: colour"},
		{"settings version", "PUT", "/api/settings", map[string]any{"version": "9"}, "read-only"},
		{"settings bad value", "PUT", "/api/settings", map[string]any{"compression": "lz4"}, `invalid value for field "compression"`},
		{"settings bad zone", "PUT", "/api/settings", map[string]any{"timezone": "Mars/Olympus"}, `invalid value for field "timezone"`},
		{"settings wrong type", "PUT", "/api/settings", `{"concurrent_backups":5}`, `invalid value for field "concurrent_backups": expected string`},
		{"password short", "PUT", "/api/auth/password", map[string]any{"current_password": testPass, "new_password": "abc"}, "at least 6"},
		{"password wrong", "PUT", "/api/auth/password", map[string]any{"current_password": "nope", "new_password": "abcdefgh"}, "current password is incorrect"},
		{"login missing", "POST", "/api/auth/login", map[string]any{}, "username and password are required"},
		{"limit", "GET", "/api/backups?limit=x", nil, `query parameter "limit"`},
		{"offset", "GET", "/api/backups?offset=-1", nil, `query parameter "offset"`},
		{"reload flag", "POST", "/api/config/reload?confirm_prune=maybe", nil, `"confirm_prune"`},
	}
	for _, c := range cases {
		w := e.send(req{method: c.method, path: c.path, body: c.body})
		if w.Code != http.StatusBadRequest || !strings.Contains(errMsg(t, w), c.want) {
			t.Errorf("%s: %d %s, want 400 containing %q", c.name, w.Code, w.Body, c.want)
		}
	}
	if w := e.send(req{method: "PUT", path: "/api/settings", body: map[string]any{"pg_dump_path": "/bin/sh"}}); w.Code != http.StatusForbidden {
		t.Errorf("tool path via API: %d %s", w.Code, w.Body)
	}
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t)
	big := `{"name":"` + strings.Repeat("a", maxBody) + `"}`
	w := e.send(req{method: "POST", path: "/api/connections", body: big})
	if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(errMsg(t, w), "too large") {
		t.Errorf("big body: %d %s", w.Code, w.Body)
	}
	yaml := "version: 1\n#" + strings.Repeat("x", maxBody)
	w = e.send(req{method: "POST", path: "/api/config/plan", body: yaml, header: map[string]string{"Content-Type": "application/yaml"}})
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("big plan: %d %s", w.Code, w.Body)
	}
}

func TestBackupListPaging(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	seedBackups(t, e.store, f, 130)
	for _, c := range []struct {
		query string
		want  int
	}{
		{"", defaultLimit}, {"?limit=10", 10}, {"?limit=500", maxLimit}, {"?limit=50&offset=120", 11},
		{"?connection_id=conn_other", 0}, {"?database_id=" + f.db + "&limit=100", 100},
	} {
		var list []backupView
		mustJSON(t, e.call("GET", "/api/backups"+c.query, nil, 200), &list)
		if len(list) != c.want {
			t.Errorf("%q: %d backups, want %d", c.query, len(list), c.want)
		}
		for i := 1; i < len(list); i++ {
			if list[i].CreatedAt.After(list[i-1].CreatedAt) {
				t.Fatalf("%q: not newest first", c.query)
			}
		}
	}
	var st struct {
		Total    int64            `json:"total_backups"`
		ByStatus map[string]int64 `json:"by_status"`
	}
	mustJSON(t, e.call("GET", "/api/backups/stats", nil, 200), &st)
	if st.Total != 131 || st.ByStatus["success"] != 131 {
		t.Errorf("stats: %+v", st)
	}
}
