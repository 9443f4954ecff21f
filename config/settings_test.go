package config

import (
	"reflect"
	"testing"
)

func TestSettingsFromMapRoundTrip(t *testing.T) {
	m := map[string]string{
		"timezone": "Asia/Jakarta", "concurrent_backups": "4", "compression": "zstd",
		"retention_full_default": "0", "retention_incr_default": "12",
		"notify_on_success": "false", "notify_on_failure": "true",
		"pg_dump_path": "/opt/pg/pg_dump", "pg_restore_path": "pg_restore",
		"mysqldump_path": "mysqldump", "mysql_path": "/usr/bin/mysql",
	}
	if got := SettingsFromMap(m).Map(); !reflect.DeepEqual(got, m) {
		t.Errorf("Map(SettingsFromMap(m)) = %v, want %v", got, m)
	}
	got := SettingsFromMap(map[string]string{"concurrent_backups": "many", "notify_on_success": "maybe", "extra": "x"})
	if !reflect.DeepEqual(got, Settings{}) {
		t.Errorf("unparsable values and unknown keys: got %+v, want nothing declared", got)
	}
}
