package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/state"
)

// The API validates names with the file's CheckName: bidi controls and
// invisible characters are refused on every resource that has a name.
func TestNamesRefuseInvisibleCharacters(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	const want = `invalid value for field "name": must not contain invisible or bidirectional control characters`
	cases := []struct {
		name, method, path string
		body               any
		code               string // the code point the error must name
	}{
		{"conn RLO", "POST", "/api/connections", map[string]any{"name": "pg\u202egpj.exe", "db_type": "postgresql",
			"host": "h", "username": "u"}, "U+202E"},
		{"conn escaped LRI", "POST", "/api/connections", `{"name":"pg\u2066x\u2069","db_type":"postgresql","host":"h","username":"u"}`, "U+2066"},
		{"conn rename", "PUT", "/api/connections/" + f.conn, map[string]any{"name": "prod\u200b-pg"}, "U+200B"},
		{"provider", "POST", "/api/storage-providers", map[string]any{"name": "s3\u202d", "provider_type": "local",
			"path": "/var/lib/jagad"}, "U+202D"},
		{"notification", "POST", "/api/notifications", map[string]any{"name": "\ufefftg", "notif_type": "telegram",
			"config_json": `{"bot_token":"123:ABC","chat_id":"42"}`}, "U+FEFF"},
		{"schedule", "PUT", "/api/schedules/" + f.sched, map[string]any{"name": "nightly\u00a0full"}, "U+00A0"},
	}
	for _, c := range cases {
		w := e.send(req{method: c.method, path: c.path, body: c.body})
		if w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", c.name, w.Code, w.Body)
			continue
		}
		if msg := errMsg(t, w); !strings.Contains(msg, want) || !strings.Contains(msg, c.code) {
			t.Errorf("%s: %q, want %q naming %s", c.name, msg, want, c.code)
		}
	}
}

// backup_type incremental (and physical) is refused where it is declared
// on a connection that cannot take physical backups, with a message naming
// why; a mariadb connection with physical set accepts it.
func TestIncrementalRefused(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	maria := idOf(t, e.call("POST", "/api/connections", map[string]any{
		"name": "maria", "db_type": "mariadb", "host": "db.example.com", "username": "u"}, http.StatusCreated).Body)
	mdb := database(maria, "shop", state.ManagedByAPI)
	put(t, e.store, mdb)
	const want = `invalid value for field "backup_type": backup_type "incremental" needs`
	cases := []struct {
		name, method, path string
		body               any
		why                string
	}{
		{"create schedule", "POST", "/api/schedules", map[string]any{"connection_id": f.conn, "database_id": f.db,
			"backup_type": "incremental", "cron_expr": "@hourly"}, "a mysql or mariadb connection"},
		{"update schedule", "PUT", "/api/schedules/" + f.sched, map[string]any{"backup_type": "incremental"}, "a mysql or mariadb connection"},
		{"one-shot backup", "POST", "/api/backups", map[string]any{"connection_id": f.conn, "database_id": f.db,
			"backup_type": "incremental"}, "a mysql or mariadb connection"},
		{"mariadb without physical", "POST", "/api/schedules", map[string]any{"connection_id": maria, "database_id": mdb.ID,
			"backup_type": "incremental", "cron_expr": "@hourly"}, `connection "maria" to declare where its data directory is readable`},
		{"one-shot on mariadb without physical", "POST", "/api/backups", map[string]any{"connection_id": maria, "database_id": mdb.ID,
			"backup_type": "incremental"}, `physical: {datadir: /var/lib/mysql}`},
	}
	for _, c := range cases {
		w := e.send(req{method: c.method, path: c.path, body: c.body})
		if w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", c.name, w.Code, w.Body)
			continue
		}
		if msg := errMsg(t, w); !strings.Contains(msg, want) || !strings.Contains(msg, c.why) {
			t.Errorf("%s: %q, want %q and %q", c.name, msg, want, c.why)
		}
	}
	var sched scheduleView
	mustJSON(t, e.call("GET", "/api/schedules/"+f.sched, nil, http.StatusOK), &sched)
	if sched.BackupType != "full" {
		t.Errorf("schedule backup_type = %q after a refused update, want full", sched.BackupType)
	}
	// With physical declared, the same schedule is accepted.
	e.call("PUT", "/api/connections/"+maria, map[string]any{"physical": map[string]any{"datadir": "/var/lib/mysql"}}, http.StatusOK)
	e.call("POST", "/api/schedules", map[string]any{"connection_id": maria, "database_id": mdb.ID,
		"backup_type": "incremental", "cron_expr": "@hourly"}, http.StatusCreated)

	now := time.Now().UTC()
	put(t, e.store, state.Backup{ID: state.NewID(state.KindBackup), ConnectionID: f.conn, DatabaseID: f.db,
		BackupType: "incremental", Status: state.StatusSuccess, StorageProviderID: f.prov, CreatedAt: now})
	var stats state.BackupStats
	mustJSON(t, e.call("GET", "/api/backups/stats", nil, http.StatusOK), &stats)
	if stats.ByType["incremental"] != 1 || stats.ByType["full"] != 1 {
		t.Errorf("stats by_type = %v, want full 1 and incremental 1", stats.ByType)
	}
}
