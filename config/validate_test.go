package config

import (
	"slices"
	"strings"
	"testing"
)

// fields returns the Field of every FieldError.
func fields(errs []FieldError) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Field
	}
	return out
}

// checkFields asserts that errs name exactly the want fields, in order.
func checkFields(t *testing.T, name string, errs []FieldError, want ...string) {
	t.Helper()
	if got := fields(errs); !slices.Equal(got, want) {
		t.Errorf("%s: error fields = %q, want %q (errors: %v)", name, got, want, errs)
	}
}

func ptr[T any](v T) *T { return &v }

func TestValidateConnection(t *testing.T) {
	base := func() Connection {
		return Connection{Name: "pg", DBType: "postgresql", Host: "db", Port: 5432, SSLMode: "prefer", Databases: []string{"app"}}
	}
	tests := []struct {
		name   string
		mutate func(*Connection)
		want   []string
	}{
		{"valid", func(*Connection) {}, nil},
		{"mysql ssl mode", func(c *Connection) { c.DBType, c.SSLMode = "mysql", "skip-verify" }, nil},
		{"pg rejects mysql ssl mode", func(c *Connection) { c.SSLMode = "skip-verify" }, []string{"ssl_mode"}},
		{"empty name", func(c *Connection) { c.Name = "" }, []string{"name"}},
		{"long name", func(c *Connection) { c.Name = strings.Repeat("a", 101) }, []string{"name"}},
		{"100 chars ok", func(c *Connection) { c.Name = strings.Repeat("a", 100) }, nil},
		{"control char", func(c *Connection) { c.Name = "a\tb" }, []string{"name"}},
		{"db_type", func(c *Connection) { c.DBType = "oracle" }, []string{"db_type"}},
		{"port 0", func(c *Connection) { c.Port = 0 }, []string{"port"}},
		{"port 65536", func(c *Connection) { c.Port = 65536 }, []string{"port"}},
		{"port 65535", func(c *Connection) { c.Port = 65535 }, nil},
		{"host required", func(c *Connection) { c.Host = "" }, []string{"host"}},
		{"host flag", func(c *Connection) { c.Host = "-oProxyCommand=x" }, []string{"host"}},
		{"user space", func(c *Connection) { c.Username = "a b" }, []string{"username"}},
		{"password newline", func(c *Connection) { c.Password = "a\nb" }, []string{"password"}},
		{"db dup and flag", func(c *Connection) { c.Databases = []string{"a", "a", "-x", ""} },
			[]string{"databases[1]", "databases[2]", "databases[3]"}},
	}
	for _, tt := range tests {
		c := base()
		tt.mutate(&c)
		checkFields(t, tt.name, ValidateConnection(c), tt.want...)
	}
}

func TestConnectionSetDefaults(t *testing.T) {
	for db, port := range map[string]int{"postgresql": 5432, "mysql": 3306, "mariadb": 3306} {
		c := Connection{DBType: db}
		c.SetDefaults()
		if c.Port != port || c.SSLMode != "prefer" {
			t.Errorf("%s defaults = port %d ssl %q", db, c.Port, c.SSLMode)
		}
	}
	c := Connection{DBType: "postgresql", Port: 6432, SSLMode: "require"}
	c.SetDefaults()
	if c.Port != 6432 || c.SSLMode != "require" {
		t.Errorf("SetDefaults overwrote set fields: %+v", c)
	}
}

func TestValidateStorage(t *testing.T) {
	s3 := func() Storage {
		return Storage{Name: "s3", ProviderType: "s3", Region: "us-east-1", Bucket: "my-backups", AccessKey: "a", SecretKey: "b"}
	}
	tests := []struct {
		name string
		s    func() Storage
		want []string
	}{
		{"s3 region only", s3, nil},
		{"local", func() Storage { return Storage{Name: "d", ProviderType: "local", Path: "/srv/b", Prefix: "x/"} }, nil},
		{"local relative", func() Storage { return Storage{Name: "d", ProviderType: "local", Path: "srv"} }, []string{"path"}},
		{"local no path", func() Storage { return Storage{Name: "d", ProviderType: "local"} }, []string{"path"}},
		{"local with s3 fields", func() Storage {
			return Storage{Name: "d", ProviderType: "local", Path: "/b", Bucket: "x", PathStyle: ptr(true)}
		}, []string{"bucket", "path_style"}},
		{"unknown type", func() Storage { return Storage{Name: "d", ProviderType: "ftp"} }, []string{"provider_type"}},
		{"s3 no region", func() Storage { s := s3(); s.Region = ""; return s }, []string{"region"}},
		{"bucket short", func() Storage { s := s3(); s.Bucket = "ab"; return s }, []string{"bucket"}},
		{"bucket 64", func() Storage { s := s3(); s.Bucket = strings.Repeat("b", 64); return s }, []string{"bucket"}},
		{"bucket 63", func() Storage { s := s3(); s.Bucket = strings.Repeat("b", 63); return s }, nil},
		{"bucket chars", func() Storage { s := s3(); s.Bucket = "a b!"; return s }, []string{"bucket"}},
		{"bucket edge", func() Storage { s := s3(); s.Bucket = "-abc"; return s }, []string{"bucket"}},
		{"endpoint scheme", func() Storage { s := s3(); s.Endpoint = "s3.amazonaws.com"; return s }, []string{"endpoint"}},
		{"endpoint creds", func() Storage { s := s3(); s.Endpoint = "https://u:p@minio"; return s }, []string{"endpoint"}},
		{"minio needs endpoint", func() Storage {
			return Storage{Name: "m", ProviderType: "minio", Bucket: "abc", Region: "auto", AccessKey: "a", SecretKey: "s"}
		}, []string{"endpoint"}},
		{"half credentials", func() Storage { s := s3(); s.SecretKey = ""; return s }, []string{"secret_key"}},
		{"other half", func() Storage { s := s3(); s.AccessKey = ""; return s }, []string{"access_key"}},
		{"prefix abs", func() Storage { s := s3(); s.Prefix = "/x"; return s }, []string{"prefix"}},
		{"prefix dotdot", func() Storage { s := s3(); s.Prefix = "a/../b"; return s }, []string{"prefix"}},
		{"path on s3", func() Storage { s := s3(); s.Path = "/x"; return s }, []string{"path"}},
	}
	for _, tt := range tests {
		s := tt.s()
		s.SetDefaults()
		checkFields(t, tt.name, ValidateStorage(s), tt.want...)
	}
}

func TestStorageSetDefaults(t *testing.T) {
	s := Storage{ProviderType: "s3", Region: "eu-west-1"}
	s.SetDefaults()
	if s.Endpoint != "https://s3.eu-west-1.amazonaws.com" || s.Region != "eu-west-1" {
		t.Errorf("s3 defaults = %+v", s)
	}
	g := Storage{ProviderType: "gcs"}
	g.SetDefaults()
	if g.Endpoint != "https://storage.googleapis.com" || g.Region != "auto" {
		t.Errorf("gcs defaults = %+v", g)
	}
	l := Storage{ProviderType: "local"}
	l.SetDefaults()
	if l.Region != "" || l.Endpoint != "" {
		t.Errorf("local defaults = %+v", l)
	}
}

func TestValidateNotification(t *testing.T) {
	tests := []struct {
		name string
		n    Notification
		want []string
	}{
		{"telegram", Notification{Name: "t", Type: "telegram", Config: map[string]any{"bot_token": "x", "chat_id": 12}}, nil},
		{"telegram json number", Notification{Name: "t", Type: "telegram", Config: map[string]any{"bot_token": "x", "chat_id": float64(-100)}}, nil},
		{"telegram missing", Notification{Name: "t", Type: "telegram", Config: map[string]any{"bot_token": "x"}}, []string{"config.chat_id"}},
		{"telegram nil config", Notification{Name: "t", Type: "telegram"}, []string{"config.bot_token", "config.chat_id"}},
		{"telegram api_url", Notification{Name: "t", Type: "telegram", Config: map[string]any{"bot_token": "x", "chat_id": 1, "api_url": "http://127.0.0.1:8081/"}}, nil},
		{"telegram bad api_url", Notification{Name: "t", Type: "telegram", Config: map[string]any{"bot_token": "x", "chat_id": 1, "api_url": "ftp://x"}}, []string{"config.api_url"}},
		{"slack", Notification{Name: "s", Type: "slack", Config: map[string]any{"webhook_url": "https://h/x"}}, nil},
		{"discord bad url", Notification{Name: "d", Type: "discord", Config: map[string]any{"webhook_url": "h/x"}}, []string{"config.webhook_url"}},
		{"webhook", Notification{Name: "w", Type: "webhook", Config: map[string]any{
			"url": "http://h/x", "method": "PATCH", "headers": map[string]any{"X-Token": "t"}}}, nil},
		{"webhook header value", Notification{Name: "w", Type: "webhook", Config: map[string]any{
			"url": "http://h/x", "headers": map[string]any{"X": 1}}}, []string{"config.headers"}},
		{"webhook method", Notification{Name: "w", Type: "webhook", Config: map[string]any{"url": "http://h", "method": "GET"}}, []string{"config.method"}},
		{"email", Notification{Name: "e", Type: "email", Config: map[string]any{
			"smtp_host": "smtp", "smtp_port": "587", "from": "a@b.c", "to": []any{"x@y.z"}, "tls": "tls",
			"smtp_username": "u", "smtp_password": "p", "subject_template": "{{.Event}}"}}, nil},
		{"email bad", Notification{Name: "e", Type: "email", Config: map[string]any{
			"smtp_host": "smtp", "smtp_port": 0, "from": "nope", "to": "x@y.z", "subject_template": "{{"}},
			[]string{"config.smtp_port", "config.from", "config.to", "config.subject_template"}},
		{"email bad recipient", Notification{Name: "e", Type: "email", Config: map[string]any{
			"smtp_host": "smtp", "smtp_port": 25, "from": "a@b.c", "to": []any{"ok@x.y", "bad"}}}, []string{"config.to"}},
		{"unknown key", Notification{Name: "s", Type: "slack", Config: map[string]any{"webhook_url": "https://h", "channel": "#x"}}, []string{"config.channel"}},
		{"type", Notification{Name: "p", Type: "pager"}, []string{"type"}},
		{"events", Notification{Name: "s", Type: "slack", Config: map[string]any{"webhook_url": "https://h"},
			Events: []string{"backup.failed", "config.failed", "x", "config.failed"}}, []string{"events[2]", "events[3]"}},
	}
	for _, tt := range tests {
		checkFields(t, tt.name, ValidateNotification(tt.n), tt.want...)
	}
}

func TestNotificationErrorsDoNotLeakSecrets(t *testing.T) {
	secret := "https://hooks.slack.com/services/T000/SECRET"
	errs := ValidateNotification(Notification{Name: "s", Type: "slack", Config: map[string]any{"webhook_url": "ftp" + secret[5:]}})
	if len(errs) != 1 || strings.Contains(errs[0].Error(), "SECRET") {
		t.Errorf("errors = %v", errs)
	}
}

func TestSecretConfigKeys(t *testing.T) {
	for typ, want := range map[string][]string{
		"telegram": {"bot_token"}, "slack": {"webhook_url"}, "discord": {"webhook_url"},
		"email": {"smtp_password"}, "webhook": {"url", "headers"}, "nope": nil,
	} {
		if got := SecretConfigKeys(typ); !slices.Equal(got, want) {
			t.Errorf("SecretConfigKeys(%q) = %q, want %q", typ, got, want)
		}
	}
}

func TestValidateSchedule(t *testing.T) {
	base := func() Schedule {
		s := Schedule{Name: "n", Connection: "pg", Database: "app", CronExpr: "0 2 * * *"}
		s.SetDefaults()
		return s
	}
	tests := []struct {
		name   string
		mutate func(*Schedule)
		want   []string
	}{
		{"valid", func(*Schedule) {}, nil},
		{"descriptor", func(s *Schedule) { s.CronExpr = "@midnight" }, nil},
		{"no database", func(s *Schedule) { s.Database = "" }, []string{"database"}},
		{"no connection", func(s *Schedule) { s.Connection = "" }, []string{"connection"}},
		{"backup type", func(s *Schedule) { s.BackupType = "diff" }, []string{"backup_type"}},
		{"cron", func(s *Schedule) { s.CronExpr = "0 0 2 * * *" }, []string{"cron_expr"}},
		{"retention", func(s *Schedule) { s.RetentionFull, s.RetentionIncr = ptr(0), ptr(1) }, []string{"retention_full"}},
		{"keep", func(s *Schedule) { s.KeepYearly = -1 }, []string{"keep_yearly"}},
		{"durations", func(s *Schedule) { s.KeepWithin, s.MaxAge, s.Timeout = -1, -1, 0 },
			[]string{"keep_within", "max_age", "timeout"}},
		{"notifications", func(s *Schedule) { s.Notifications = []string{"a", "a", "x/y"} },
			[]string{"notifications[1]", "notifications[2]"}},
		{"restore test", func(s *Schedule) { s.RestoreTest = &RestoreTest{Every: -1} },
			[]string{"restore_test.connection", "restore_test.every"}},
		{"storage name", func(s *Schedule) { s.Storage = "../x" }, []string{"storage"}},
	}
	for _, tt := range tests {
		s := base()
		tt.mutate(&s)
		checkFields(t, tt.name, ValidateSchedule(s), tt.want...)
	}
}

func TestScheduleSetDefaults(t *testing.T) {
	s := Schedule{RestoreTest: &RestoreTest{Connection: "x"}}
	s.SetDefaults()
	if s.BackupType != "full" || !s.IsEnabled() || s.Timeout.Std() != DefaultTimeout || s.RestoreTest.Every != 1 {
		t.Errorf("defaults = %+v", s)
	}
	off := false
	s = Schedule{Enabled: &off}
	s.SetDefaults()
	if s.IsEnabled() {
		t.Error("SetDefaults re-enabled a disabled schedule")
	}
}

func TestValidateSettings(t *testing.T) {
	valid := map[string]string{
		"timezone": "Asia/Jakarta", "concurrent_backups": "64", "compression": "none",
		"retention_full_default": "0", "retention_incr_default": "30", "notify_on_success": "true",
		"notify_on_failure": "false", "pg_dump_path": "/usr/bin/pg_dump", "mysql_path": "mariadb",
	}
	checkFields(t, "valid", ValidateSettings(valid))
	bad := map[string]string{
		"timezone": "Mars/Base", "concurrent_backups": "65", "compression": "lz4",
		"retention_full_default": "-1", "retention_incr_default": "x", "notify_on_success": "yes",
		"notify_on_failure": "1", "pg_dump_path": "bin/pg_dump", "mysqldump_path": "",
		"max_concurrent": "3",
	}
	errs := ValidateSettings(bad)
	checkFields(t, "bad", errs, "compression", "concurrent_backups", "max_concurrent", "mysqldump_path",
		"notify_on_failure", "notify_on_success", "pg_dump_path", "retention_full_default",
		"retention_incr_default", "timezone")
	if !slices.ContainsFunc(errs, func(e FieldError) bool { return e.Message == "unknown setting: max_concurrent" }) {
		t.Errorf("no \"unknown setting: max_concurrent\" in %v", errs)
	}
	checkFields(t, "zero concurrency", ValidateSettings(map[string]string{"concurrent_backups": "0"}), "concurrent_backups")
	checkFields(t, "Local zone", ValidateSettings(map[string]string{"timezone": "Local"}), "timezone")
}

func TestSettingsMap(t *testing.T) {
	s := Settings{Timezone: ptr("UTC"), ConcurrentBackups: ptr(2), NotifyOnFailure: ptr(false)}
	m := s.Map()
	if len(m) != 3 || m["timezone"] != "UTC" || m["concurrent_backups"] != "2" || m["notify_on_failure"] != "false" {
		t.Errorf("Map() = %v", m)
	}
	for _, k := range SettingKeys() {
		if errs := ValidateSettings(map[string]string{k: "x"}); len(errs) == 1 && strings.HasPrefix(errs[0].Message, "unknown setting") {
			t.Errorf("SettingKeys lists %q but ValidateSettings does not know it", k)
		}
	}
}

func TestValidateEncryption(t *testing.T) {
	const recipient = "age1pxpaf9e5puhgey5qqweffqqv5wg68uapqjqrh9qkmx674x2wns5qjdl09f"
	tests := []struct {
		name string
		e    Encryption
		want []string
	}{
		{"valid", Encryption{ActiveKey: "k1", Keys: []Key{{"k1", "x"}, {"k0", "y"}}, RecoveryRecipient: recipient}, nil},
		{"no keys", Encryption{ActiveKey: "k1"}, []string{"keys", "active_key"}},
		{"not in keys", Encryption{ActiveKey: "k2", Keys: []Key{{"k1", "x"}}}, []string{"active_key"}},
		{"no active", Encryption{Keys: []Key{{"k1", "x"}}}, []string{"active_key"}},
		{"dup and unsafe ids", Encryption{ActiveKey: "k1", Keys: []Key{{"k1", "x"}, {"k1", "y"}, {"a/b", "z"}}},
			[]string{"keys[1].id", "keys[2].id"}},
		{"empty key", Encryption{ActiveKey: "k1", Keys: []Key{{"k1", ""}}}, []string{"keys[0].key"}},
		{"recipient prefix", Encryption{ActiveKey: "k1", Keys: []Key{{"k1", "x"}}, RecoveryRecipient: "ssh-ed25519 AAAA"}, []string{"recovery_recipient"}},
		{"recipient checksum", Encryption{ActiveKey: "k1", Keys: []Key{{"k1", "x"}}, RecoveryRecipient: recipient[:len(recipient)-1] + "q"}, []string{"recovery_recipient"}},
	}
	for _, tt := range tests {
		checkFields(t, tt.name, ValidateEncryption(tt.e), tt.want...)
	}
}

func TestCheckName(t *testing.T) {
	for name, ok := range map[string]bool{
		"prod-pg": true, "a.b": true, "Ünïcode ok": true, "": false, "a/b": false, `a\b`: false,
		"..": false, "a..b": false, ".hidden": false, " pad": false, "nul\x00": false,
	} {
		if err := CheckName(name); (err == nil) != ok {
			t.Errorf("CheckName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}
