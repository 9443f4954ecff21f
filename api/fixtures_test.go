package api

import (
	"net/http"
	"testing"
	"time"

	"github.com/jagad/jagad/state"
)

// fixture holds one resource of each kind, made through the API where the
// API makes them.
type fixture struct {
	conn, db, prov, notif, sched, backup, restore string
}

func database(connID, name string, owner state.ManagedBy) state.Database {
	return state.Database{ID: state.DerivedID(state.KindDatabase, connID+"/"+name), ConnectionID: connID,
		DBName: name, IsSelected: true, ManagedBy: owner, CreatedAt: time.Now().UTC()}
}

func idOf(tb testing.TB, w interface{ Bytes() []byte }) string {
	tb.Helper()
	var v struct {
		ID string `json:"id"`
	}
	if err := jsonUnmarshal(w.Bytes(), &v); err != nil || v.ID == "" {
		tb.Fatalf("no id in %s", w.Bytes())
	}
	return v.ID
}

func newFixture(e *env) fixture {
	e.tb.Helper()
	var f fixture
	f.conn = idOf(e.tb, e.call("POST", "/api/connections", map[string]any{
		"name": "prod-pg", "db_type": "postgresql", "host": "db.example.com", "port": 5432,
		"username": "backup_user", "password": "pg-secret", "ssl_mode": "prefer"}, http.StatusCreated).Body)
	d := database(f.conn, "myapp", state.ManagedByAPI)
	put(e.tb, e.store, d)
	f.db = d.ID
	f.prov = idOf(e.tb, e.call("POST", "/api/storage-providers", map[string]any{
		"name": "s3", "provider_type": "s3", "endpoint": "https://s3.us-east-1.amazonaws.com", "region": "us-east-1",
		"bucket": "my-backups", "access_key": "AKIAEXAMPLE", "secret_key": "s3-secret", "path_style": false,
		"is_default": true}, http.StatusCreated).Body)
	f.notif = idOf(e.tb, e.call("POST", "/api/notifications", map[string]any{
		"name": "tg", "notif_type": "telegram", "config_json": `{"bot_token":"123:ABC","chat_id":"42"}`},
		http.StatusCreated).Body)
	f.sched = idOf(e.tb, e.call("POST", "/api/schedules", map[string]any{
		"connection_id": f.conn, "database_id": f.db, "backup_type": "full", "cron_expr": "0 2 * * *",
		"storage_provider_id": f.prov, "encryption_enabled": true, "verify_enabled": true, "retention_full": 7,
		"retention_incr": 30, "notif_target_ids": []string{f.notif}, "notify_on_success": true,
		"notify_on_failure": true}, http.StatusCreated).Body)
	now := time.Now().UTC()
	b := state.Backup{ID: state.NewID(state.KindBackup), ConnectionID: f.conn, DatabaseID: f.db, ScheduleID: f.sched,
		ConnectionName: "prod-pg", DatabaseName: "myapp", ScheduleName: "prod-pg-myapp-full", BackupType: "full",
		Status: state.StatusSuccess, StoragePath: "backups/prod-pg/myapp/bck_1-20250101-020000.pgdump.zst",
		StorageProviderID: f.prov, SizeBytes: 4096, StoredSizeBytes: 1024, Compression: "zstd",
		VerifyStatus: state.VerifyPassed, LogOutput: "BACKUP: streaming postgresql myapp\n",
		StartedAt: &now, CompletedAt: &now, CreatedAt: now}
	put(e.tb, e.store, b)
	f.backup = b.ID
	f.restore = idOf(e.tb, e.call("POST", "/api/backups/"+f.backup+"/restore", map[string]any{}, http.StatusCreated).Body)
	return f
}
