package state

import (
	"reflect"
	"testing"
	"time"
	_ "time/tzdata" // the zones load on a machine without zoneinfo too
)

func TestSettingsAccessors(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatalf("load zone: %v", err) // time/tzdata is linked in
	}
	tests := []struct {
		name        string
		values      map[string]string
		concurrent  int
		compression string
		loc         *time.Location
		full, incr  int
		onOK, onErr bool
		tools       ToolPaths
	}{
		{name: "empty record: the defaults", concurrent: 3, compression: "gzip", loc: time.UTC,
			full: 7, incr: 30, onOK: true, onErr: true},
		{name: "set values", values: map[string]string{
			SettingConcurrentBackups: "5", SettingCompression: "zstd", SettingTimezone: "Europe/Berlin",
			SettingRetentionFullDefault: "0", SettingRetentionIncrDefault: "12",
			SettingNotifyOnSuccess: "false", SettingNotifyOnFailure: "true",
			SettingPgDumpPath: "/opt/pg/bin/pg_dump", SettingMysqlPath: "mysql8",
		}, concurrent: 5, compression: "zstd", loc: berlin, full: 0, incr: 12, onOK: false, onErr: true,
			tools: ToolPaths{PgDump: "/opt/pg/bin/pg_dump", Mysql: "mysql8"}},
		{name: "unusable values fall back", values: map[string]string{
			SettingConcurrentBackups: "0", SettingTimezone: "Mars/Olympus", SettingRetentionFullDefault: "x",
		}, concurrent: 3, compression: "gzip", loc: time.UTC, full: 7, incr: 30, onOK: true, onErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Settings{Values: tc.values}
			if got := s.ConcurrentBackups(); got != tc.concurrent {
				t.Errorf("ConcurrentBackups = %d, want %d", got, tc.concurrent)
			}
			if got := s.Compression(); got != tc.compression {
				t.Errorf("Compression = %q, want %q", got, tc.compression)
			}
			if got := s.Timezone(); got.String() != tc.loc.String() {
				t.Errorf("Timezone = %v, want %v", got, tc.loc)
			}
			if got := s.RetentionFullDefault(); got != tc.full {
				t.Errorf("RetentionFullDefault = %d, want %d", got, tc.full)
			}
			if got := s.RetentionIncrDefault(); got != tc.incr {
				t.Errorf("RetentionIncrDefault = %d, want %d", got, tc.incr)
			}
			if s.NotifyOnSuccess() != tc.onOK || s.NotifyOnFailure() != tc.onErr {
				t.Errorf("notify = %v/%v, want %v/%v", s.NotifyOnSuccess(), s.NotifyOnFailure(), tc.onOK, tc.onErr)
			}
			if got := s.Tools(); got != tc.tools {
				t.Errorf("Tools = %+v, want %+v", got, tc.tools)
			}
		})
	}
}

func TestSettingsLocationError(t *testing.T) {
	if _, err := (Settings{Values: map[string]string{SettingTimezone: "Mars/Olympus"}}).Location(); err == nil {
		t.Error("Location of an unknown zone: no error")
	}
}

func TestSettingsWithAndOverrides(t *testing.T) {
	base := Settings{Values: map[string]string{SettingCompression: "gzip"}, FileKeys: []string{SettingTimezone}}
	s := base.With(map[string]string{
		SettingCompression: "zstd", SettingTimezone: "Asia/Jakarta", SettingConcurrentBackups: "3",
		SettingPgDumpPath: "/usr/bin/pg_dump",
	})
	if base.Values[SettingCompression] != "gzip" {
		t.Errorf("With changed its receiver: %v", base.Values)
	}
	// timezone is file-set, concurrent_backups equals its default, the
	// tool path has no default: only compression is an override.
	if got, want := s.Overrides(), map[string]string{SettingCompression: "zstd"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Overrides = %v, want %v", got, want)
	}
	var z Settings
	z.Set(SettingCompression, "none")
	if z.Compression() != "none" {
		t.Errorf("Set: compression = %q", z.Compression())
	}
}
