package config

import (
	"testing"
	"time"
)

// loadGood loads a good file with the test environment and fails on any
// error or warning.
func loadGood(t *testing.T, path string) *File {
	t.Helper()
	f, rep := Load(path, Options{LookupEnv: testEnv, Resolve: true})
	for _, d := range rep.Diagnostics {
		t.Errorf("unexpected diagnostic: %s", d)
	}
	if f == nil {
		t.Fatalf("%s rejected", path)
	}
	return f
}

func TestGoodDesignExample(t *testing.T) {
	f, rep := Load("testdata/good/design.yaml", Options{
		LookupEnv: testEnv,
		ReadFile: func(p string) ([]byte, error) {
			if p != "/run/secrets/s3-secret" {
				t.Errorf("read unexpected file %q", p)
			}
			return []byte("s3-secret\n"), nil
		},
		Resolve: true,
	})
	if rep.HasErrors() || len(rep.Warnings()) != 0 {
		t.Fatalf("diagnostics: %v", rep.Diagnostics)
	}
	if f.Version != 1 || len(f.Storage) != 2 || len(f.Connections) != 1 || len(f.Notifications) != 1 || len(f.Schedules) != 1 {
		t.Fatalf("counts wrong: %+v", f)
	}
	if got := f.Storage[1].SecretKey; got != "s3-secret" {
		t.Errorf("secret_key = %q, want file content without newline", got)
	}
	if got := f.Connections[0].Password; got != "pw: with # and colon" {
		t.Errorf("password = %q", got)
	}
	if got := f.Notifications[0].Config["chat_id"]; got != "-1001234567890" {
		t.Errorf("chat_id = %#v, want the quoted string", got)
	}
	s := f.Schedules[0]
	if s.Timeout.Std() != 6*time.Hour || !s.IsEnabled() || *s.RetentionFull != 14 || *s.EncryptionEnabled != true {
		t.Errorf("schedule decoded wrong: %+v", s)
	}
	if *f.Settings.Timezone != "UTC" || *f.Settings.ConcurrentBackups != 3 || f.Settings.PgDumpPath != nil {
		t.Errorf("settings decoded wrong: %+v", f.Settings)
	}
}

func TestGoodExpansion(t *testing.T) {
	f := loadGood(t, "testdata/good/expansion.yaml")
	if got := f.Server.MetricsToken; got != "tok-from-file" {
		t.Errorf("metrics_token = %q: trailing newlines must be trimmed", got)
	}
	if got := *f.Settings.ConcurrentBackups; got != 4 {
		t.Errorf("concurrent_backups = %d, want default 4", got)
	}
	if got := *f.Settings.NotifyOnSuccess; got {
		t.Errorf("notify_on_success = %v, want false from default", got)
	}
	pg := f.Connections[0]
	if pg.Host != "db.internal" || pg.Port != 6543 || pg.Username != "$backup" {
		t.Errorf("connection pg = %+v", pg)
	}
	if pg.Password != "pw: with # and colon" {
		t.Errorf("password = %q: a secret with ': ' and '#' must stay one value", pg.Password)
	}
	wantDBs := []string{"app", "cost$center", "price$5"}
	if len(pg.Databases) != len(wantDBs) {
		t.Fatalf("databases = %q", pg.Databases)
	}
	for i := range wantDBs {
		if pg.Databases[i] != wantDBs[i] {
			t.Errorf("databases[%d] = %q, want %q", i, pg.Databases[i], wantDBs[i])
		}
	}
	if p := f.Connections[1]; p.Port != 5433 || p.Password != "fallback" {
		t.Errorf("second connection port=%d password=%q", p.Port, p.Password)
	}
	st := f.Storage[0]
	if st.Region != "eu-central-1" || st.Endpoint != "https://s3.eu-central-1.amazonaws.com" ||
		st.SecretKey != "s3cr3t-from-file" || st.PathStyle == nil || !*st.PathStyle {
		t.Errorf("storage = %+v", st)
	}
	s := f.Schedules[0]
	if s.CronExpr != "0 3 * * *" || s.Timeout.Std() != 150*time.Minute ||
		s.KeepWithin.Std() != 180*time.Hour || !s.IsEnabled() || s.BackupType != "full" {
		t.Errorf("schedule = %+v", s)
	}
}

func TestGoodEveryKind(t *testing.T) {
	f := loadGood(t, "testdata/good/every_kind.yaml")
	if !f.AllowMassPrune || *f.Settings.RetentionFullDefault != 0 {
		t.Errorf("top level: allow_mass_prune=%v settings=%+v", f.AllowMassPrune, f.Settings)
	}
	ports := map[string]int{"my": 3306, "maria": 3306, "pg": 5432, "pg-scratch": 6432}
	for _, c := range f.Connections {
		if c.Port != ports[c.Name] {
			t.Errorf("connection %s port = %d, want %d", c.Name, c.Port, ports[c.Name])
		}
	}
	maria := f.Connections[1]
	if maria.Host != "mysql.internal" || maria.SSLMode != "preferred" || maria.DBType != "mariadb" {
		t.Errorf("merge key: maria = %+v", maria)
	}
	if f.Connections[2].SSLMode != "prefer" {
		t.Errorf("ssl_mode default = %q", f.Connections[2].SSLMode)
	}
	regions := map[string]string{"r2": "auto", "gcs": "auto", "minio": "auto", "b2": "us-west-004", "compat": "auto", "disk": ""}
	for _, s := range f.Storage {
		if s.Region != regions[s.Name] {
			t.Errorf("storage %s region = %q, want %q", s.Name, s.Region, regions[s.Name])
		}
	}
	if f.Storage[2].Endpoint != DefaultGCSURL {
		t.Errorf("gcs endpoint = %q", f.Storage[2].Endpoint)
	}
	incr := f.Schedules[1]
	if incr.BackupType != "full" || incr.Database != "app" || incr.CronExpr != "@hourly" ||
		incr.RestoreTest.Every != 1 || incr.KeepWithin.Std() != 30*24*time.Hour {
		t.Errorf("merged schedule = %+v (restore_test %+v)", incr, incr.RestoreTest)
	}
	weekly := f.Schedules[2]
	if weekly.IsEnabled() || weekly.Timeout.Std() != 90*time.Minute || weekly.BackupType != "full" {
		t.Errorf("weekly = %+v", weekly)
	}
	if got := f.Notifications[0].Config["chat_id"]; got != -1001234567890 {
		t.Errorf("chat_id = %#v, want an int", got)
	}
	hdr := f.Notifications[4].Config["headers"].(map[string]any)
	if hdr["Authorization"] != "Bearer hook-token" {
		t.Errorf("header = %q", hdr["Authorization"])
	}
}

func TestMinimalFile(t *testing.T) {
	f := loadGood(t, "testdata/good/minimal.yaml")
	if len(f.Settings.Map()) != 0 || f.Encryption != nil || f.Connections != nil {
		t.Errorf("minimal file = %+v", f)
	}
}
