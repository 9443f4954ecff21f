package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/state"
)

// fileRecords stores one file-managed record of each kind.
func fileRecords(t *testing.T, e *env) (conn state.Connection, db state.Database, prov state.Provider, notif state.Notification, sc state.Schedule) {
	now := time.Now().UTC()
	meta := func(k state.Kind, name string) state.Meta {
		return state.Meta{ID: state.DerivedID(k, name), ManagedBy: state.ManagedByFile, CreatedAt: now, UpdatedAt: now}
	}
	conn = state.Connection{Meta: meta(state.KindConnection, "file-pg"), ConnectionSpec: state.ConnectionSpec{
		Name: "file-pg", DBType: "postgresql", Host: "h", Port: 5432, Username: "u", SSLMode: "prefer"}}
	db = database(conn.ID, "app", state.ManagedByFile)
	prov = state.Provider{Meta: meta(state.KindProvider, "file-local"), ProviderSpec: state.ProviderSpec{
		Name: "file-local", ProviderType: "local", Path: "/var/backups", IsDefault: true}}
	notif = state.Notification{Meta: meta(state.KindNotification, "file-slack"), NotificationSpec: state.NotificationSpec{
		Name: "file-slack", NotifType: "slack", ConfigJSON: `{"webhook_url":"https://hooks.example.com/x"}`}}
	sc = state.Schedule{Meta: meta(state.KindSchedule, "nightly-full"), ScheduleSpec: state.ScheduleSpec{
		Name: "nightly-full", ConnectionID: conn.ID, DatabaseID: db.ID, BackupType: "full", CronExpr: "0 2 * * *",
		RetentionFull: 7, RetentionIncr: 30, NotifTargetIDs: []string{notif.ID}, NotifyOnFailure: true,
		Enabled: true, Timeout: state.Duration(6 * time.Hour)}}
	put(t, e.store, conn)
	put(t, e.store, db)
	put(t, e.store, prov)
	put(t, e.store, notif)
	put(t, e.store, sc)
	return
}

func TestFileManagedConflicts(t *testing.T) {
	e := newEnv(t)
	conn, db, prov, notif, sc := fileRecords(t, e)
	cases := []struct {
		method, path string
		body         any
		want         string
	}{
		{"PUT", "/api/connections/" + conn.ID, map[string]any{"host": "x"}, `connection "file-pg" is managed by jagad.yaml; change it there`},
		{"DELETE", "/api/connections/" + conn.ID, nil, `connection "file-pg" is managed by jagad.yaml`},
		{"POST", "/api/connections", map[string]any{"name": "file-pg", "db_type": "mysql", "host": "h", "username": "u"}, `connection "file-pg" is managed by jagad.yaml`},
		{"PUT", "/api/connections/databases/" + db.ID, map[string]any{"is_selected": false}, `database "app" is managed by jagad.yaml`},
		{"PUT", "/api/storage-providers/" + prov.ID, map[string]any{"path": "/tmp"}, `storage provider "file-local" is managed by jagad.yaml`},
		{"DELETE", "/api/storage-providers/" + prov.ID, nil, `storage provider "file-local" is managed by jagad.yaml`},
		{"POST", "/api/storage-providers", map[string]any{"name": "file-local", "provider_type": "local", "path": "/tmp"}, `storage provider "file-local" is managed by jagad.yaml`},
		{"POST", "/api/storage-providers", map[string]any{"name": "other", "provider_type": "local", "path": "/tmp", "is_default": true}, `storage provider "file-local" is the default set by jagad.yaml`},
		{"PUT", "/api/notifications/" + notif.ID, map[string]any{"events": []string{}}, `notification "file-slack" is managed by jagad.yaml`},
		{"DELETE", "/api/notifications/" + notif.ID, nil, `notification "file-slack" is managed by jagad.yaml`},
		{"POST", "/api/notifications", map[string]any{"name": "file-slack", "notif_type": "slack", "config_json": `{"webhook_url":"https://h.example.com/y"}`}, `notification "file-slack" is managed by jagad.yaml`},
		{"PUT", "/api/schedules/" + sc.ID, map[string]any{"cron_expr": "0 3 * * *"}, `schedule "nightly-full" is managed by jagad.yaml; change it there`},
		{"PUT", "/api/schedules/" + sc.ID, map[string]any{"enabled": false, "retention_full": 8}, `schedule "nightly-full" is managed by jagad.yaml`},
		{"DELETE", "/api/schedules/" + sc.ID, nil, `schedule "nightly-full" is managed by jagad.yaml`},
		{"POST", "/api/schedules", map[string]any{"name": "nightly-full", "connection_id": conn.ID, "database_id": db.ID, "cron_expr": "@daily"}, `schedule "nightly-full" is managed by jagad.yaml`},
	}
	for _, c := range cases {
		w := e.send(req{method: c.method, path: c.path, body: c.body})
		if w.Code != http.StatusConflict || !strings.Contains(errMsg(t, w), c.want) {
			t.Errorf("%s %s: %d %s, want 409 %q", c.method, c.path, w.Code, w.Body, c.want)
		}
	}
	// Actions stay allowed on file-managed records.
	e.call("POST", "/api/schedules/"+sc.ID+"/run", nil, 200)
	e.call("POST", "/api/storage-providers/"+prov.ID+"/test", nil, 200)
	e.call("POST", "/api/notifications/"+notif.ID+"/test", nil, 200)
	e.call("POST", "/api/storage-providers/"+prov.ID+"/set-default", nil, 200) // already the default
	// The records are unchanged.
	var got state.Schedule
	_ = e.store.View(func(tx *state.Tx) (err error) { got, err = state.Get[state.Schedule](tx, sc.ID); return })
	if got.CronExpr != "0 2 * * *" || got.RetentionFull != 7 || got.Override != nil {
		t.Errorf("file-managed schedule changed: %+v", got)
	}
}

func TestScheduleOverride(t *testing.T) {
	e := newEnv(t)
	_, _, _, _, sc := fileRecords(t, e)
	path := "/api/schedules/" + sc.ID

	// Just {"enabled": false}: accepted as an override.
	var v scheduleView
	mustJSON(t, e.call("PUT", path, map[string]any{"enabled": false}, 200), &v)
	if v.Enabled || v.Override == nil || v.Override.Enabled == nil || *v.Override.Enabled {
		t.Fatalf("override not shown: %+v", v)
	}
	if !strings.Contains(e.call("GET", path, nil, 200).Body.String(), `"override":{"enabled":false}`) {
		t.Error(`GET does not show override {"enabled": false}`)
	}
	// The config status lists it too (DESIGN: shown on the record and in status).
	var st struct {
		Generation int64 `json:"generation"`
		Overrides  []struct {
			Kind, ID, Name string
			Override       state.Override
		} `json:"overrides"`
	}
	mustJSON(t, e.call("GET", "/api/config/status", nil, 200), &st)
	if len(st.Overrides) != 1 || st.Overrides[0].ID != sc.ID || st.Overrides[0].Kind != "schedule" ||
		st.Overrides[0].Override.Enabled == nil || *st.Overrides[0].Override.Enabled {
		t.Errorf("config status overrides = %+v", st.Overrides)
	}

	// The full object sent back unchanged keeps the override; with enabled
	// equal to the file's value it clears it.
	var full map[string]any
	mustJSON(t, e.call("GET", path, nil, 200), &full)
	e.call("PUT", path, full, 200)
	mustJSON(t, e.call("GET", path, nil, 200), &v)
	if v.Override == nil {
		t.Fatal("echoing the object cleared the override")
	}
	full["enabled"] = true
	mustJSON(t, e.call("PUT", path, full, 200), &v)
	if v.Override != nil || !v.Enabled {
		t.Fatalf("override not cleared: %+v", v)
	}
	if body := e.call("GET", "/api/config/status", nil, 200).Body.String(); !strings.Contains(body, `"overrides":[]`) {
		t.Errorf("a cleared override is still in the status: %s", body)
	}

	// Any other change with the full object is refused.
	full["enabled"] = false
	full["cron_expr"] = "5 2 * * *"
	if w := e.send(req{method: "PUT", path: path, body: full}); w.Code != http.StatusConflict {
		t.Errorf("changed cron on file-managed schedule: %d %s", w.Code, w.Body)
	}
	var stored state.Schedule
	_ = e.store.View(func(tx *state.Tx) (err error) { stored, err = state.Get[state.Schedule](tx, sc.ID); return })
	if stored.Override != nil || !stored.Enabled || stored.CronExpr != "0 2 * * *" {
		t.Errorf("stored schedule: %+v", stored)
	}
}

func TestSettingsFileKeys(t *testing.T) {
	e := newEnv(t)
	err := e.store.Update(func(tx *state.Tx) error {
		st, err := tx.Settings()
		if err != nil {
			return err
		}
		st.Values["timezone"] = "Asia/Jakarta"
		st.FileKeys = []string{"timezone"}
		return tx.PutSettings(st)
	})
	if err != nil {
		t.Fatal(err)
	}
	w := e.send(req{method: "PUT", path: "/api/settings", body: map[string]string{"timezone": "UTC", "compression": "zstd"}})
	if w.Code != http.StatusConflict || !strings.Contains(errMsg(t, w), `setting "timezone" is managed by jagad.yaml`) {
		t.Errorf("file key: %d %s", w.Code, w.Body)
	}
	var m map[string]string
	mustJSON(t, e.call("PUT", "/api/settings", map[string]string{"compression": "zstd"}, 200), &m)
	if m["compression"] != "zstd" || m["timezone"] != "Asia/Jakarta" || m["version"] != "1.2.3" || m["retention_full_default"] != "7" {
		t.Errorf("settings: %v", m)
	}
}

func TestScheduleDefaults(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	e.call("PUT", "/api/settings", map[string]string{"retention_full_default": "11", "notify_on_success": "false"}, 200)
	body := map[string]any{"connection_id": f.conn, "database_id": f.db, "cron_expr": "@daily"}
	var a, b scheduleView
	mustJSON(t, e.call("POST", "/api/schedules", body, 201), &a)
	mustJSON(t, e.call("POST", "/api/schedules", body, 201), &b)
	// The fixture already holds prod-pg-myapp-full.
	if a.Name != "prod-pg-myapp-full-2" || b.Name != "prod-pg-myapp-full-3" {
		t.Errorf("derived names %q, %q", a.Name, b.Name)
	}
	if a.RetentionFull != 11 || a.RetentionIncr != 30 || a.NotifyOnSuccess || !a.NotifyOnFailure || !a.Enabled ||
		a.BackupType != "full" || a.Timeout != state.Duration(6*time.Hour) || a.ManagedBy != state.ManagedByAPI {
		t.Errorf("defaults: %+v", a)
	}
	w := e.send(req{method: "POST", path: "/api/schedules", body: map[string]any{"name": a.Name, "connection_id": f.conn, "database_id": f.db, "cron_expr": "@daily"}})
	if w.Code != http.StatusConflict {
		t.Errorf("duplicate name: %d", w.Code)
	}
	// An API schedule's enabled changes directly, without an override.
	mustJSON(t, e.call("PUT", "/api/schedules/"+a.ID, map[string]any{"enabled": false}, 200), &a)
	if a.Enabled || a.Override != nil {
		t.Errorf("api schedule disable: %+v", a)
	}
}

func TestProviderDefaultAndSecrets(t *testing.T) {
	e := newEnv(t)
	var a, b providerView
	mustJSON(t, e.call("POST", "/api/storage-providers", map[string]any{"name": "a", "provider_type": "local", "path": "/srv/a"}, 201), &a)
	if !a.IsDefault {
		t.Error("first provider is not the default")
	}
	mustJSON(t, e.call("POST", "/api/storage-providers", map[string]any{"name": "b", "provider_type": "minio",
		"endpoint": "http://127.0.0.1:9000", "bucket": "bkt", "access_key": "ak", "secret_key": "sk-1", "path_style": true}, 201), &b)
	if b.IsDefault || b.SecretKey != mask || b.Region != "auto" {
		t.Errorf("second provider: %+v", b)
	}
	mustJSON(t, e.call("POST", "/api/storage-providers/"+b.ID+"/set-default", nil, 200), &b)
	mustJSON(t, e.call("GET", "/api/storage-providers/"+a.ID, nil, 200), &a)
	if !b.IsDefault || a.IsDefault {
		t.Errorf("set-default: a=%v b=%v", a.IsDefault, b.IsDefault)
	}
	// A masked or empty secret keeps the stored one; a new one replaces it.
	for _, sk := range []string{mask, ""} {
		e.call("PUT", "/api/storage-providers/"+b.ID, map[string]any{"secret_key": sk, "bucket": "bkt2"}, 200)
		if got := storedProvider(t, e, b.ID).SecretKey.Reveal(); got != "sk-1" {
			t.Errorf("secret after PUT %q: %q", sk, got)
		}
	}
	e.call("PUT", "/api/storage-providers/"+b.ID, map[string]any{"secret_key": "sk-2"}, 200)
	if got := storedProvider(t, e, b.ID).SecretKey.Reveal(); got != "sk-2" {
		t.Errorf("secret not replaced: %q", got)
	}
}

func storedProvider(t *testing.T, e *env, id string) state.Provider {
	var p state.Provider
	if err := e.store.View(func(tx *state.Tx) (err error) { p, err = state.Get[state.Provider](tx, id); return }); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNotificationSecretsKept(t *testing.T) {
	e := newEnv(t)
	var n notificationView
	mustJSON(t, e.call("POST", "/api/notifications", map[string]any{"name": "hook", "notif_type": "webhook",
		"config_json": `{"url":"https://h.example.com/in?k=1","headers":{"X-Token":"tok-1","X-Other":"o-1"}}`,
		"events":      []string{"backup.failed"}}, 201), &n)
	if n.ConfigJSON != `{"headers":{"X-Other":"`+mask+`","X-Token":"`+mask+`"},"url":"`+mask+`"}` {
		t.Errorf("masked config: %s", n.ConfigJSON)
	}
	// Send the masked document back with one header changed.
	changed := strings.Replace(n.ConfigJSON, `"X-Other":"`+mask+`"`, `"X-Other":"o-2"`, 1)
	e.call("PUT", "/api/notifications/"+n.ID, map[string]any{"config_json": changed}, 200)
	var st state.Notification
	_ = e.store.View(func(tx *state.Tx) (err error) { st, err = state.Get[state.Notification](tx, n.ID); return })
	cfg := parseConfig(st.ConfigJSON)
	h := cfg["headers"].(map[string]any)
	if cfg["url"] != "https://h.example.com/in?k=1" || h["X-Token"] != "tok-1" || h["X-Other"] != "o-2" {
		t.Errorf("stored config: %v", cfg)
	}
}
