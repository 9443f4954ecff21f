package state

import (
	"maps"
	"slices"
	"strconv"
	"time"
)

// Settings keys. Values travel as strings, as in Jagad: the stored record and
// GET/PUT /api/settings are a string map; code outside state reads them
// through the typed accessors below.
const (
	SettingTimezone             = "timezone"
	SettingConcurrentBackups    = "concurrent_backups"
	SettingCompression          = "compression"
	SettingRetentionFullDefault = "retention_full_default"
	SettingRetentionIncrDefault = "retention_incr_default"
	SettingNotifyOnSuccess      = "notify_on_success"
	SettingNotifyOnFailure      = "notify_on_failure"
	SettingPgDumpPath           = "pg_dump_path"
	SettingPgRestorePath        = "pg_restore_path"
	SettingMysqldumpPath        = "mysqldump_path"
	SettingMysqlPath            = "mysql_path"
)

// DefaultSettings are the settings keys that have a default, and those
// defaults: the one place they are written down. Tool paths have none.
var DefaultSettings = map[string]string{
	SettingRetentionFullDefault: "7",
	SettingRetentionIncrDefault: "30",
	SettingConcurrentBackups:    "3",
	SettingCompression:          "gzip",
	SettingTimezone:             "UTC",
	SettingNotifyOnSuccess:      "true",
	SettingNotifyOnFailure:      "true",
}

// Settings is the single settings record.
type Settings struct {
	Values map[string]string `json:"values"`
	// FileKeys are the keys set by jagad.yaml; the API cannot change them.
	FileKeys []string `json:"file_keys"`
}

// ToolPaths are the dump and restore programs the settings name; an empty
// path is not set (the process default applies).
type ToolPaths struct {
	PgDump, PgRestore, Mysqldump, Mysql string
}

// value is the value of key, or its default when the record lacks it.
func (s Settings) value(key string) string {
	if v, ok := s.Values[key]; ok {
		return v
	}
	return DefaultSettings[key]
}

// intValue is key as an integer of at least lo; a value that does not parse
// or is below lo gives the default.
func (s Settings) intValue(key string, lo int) int {
	if n, err := strconv.Atoi(s.value(key)); err == nil && n >= lo {
		return n
	}
	n, _ := strconv.Atoi(DefaultSettings[key])
	return n
}

// With returns a copy of s whose values are overlaid with values.
func (s Settings) With(values map[string]string) Settings {
	out := Settings{Values: maps.Clone(s.Values), FileKeys: s.FileKeys}
	if out.Values == nil {
		out.Values = map[string]string{}
	}
	maps.Copy(out.Values, values)
	return out
}

// Set sets one value.
func (s *Settings) Set(key, value string) {
	if s.Values == nil {
		s.Values = map[string]string{}
	}
	s.Values[key] = value
}

// ConcurrentBackups is how many backups run at once (at least 1).
func (s Settings) ConcurrentBackups() int { return s.intValue(SettingConcurrentBackups, 1) }

// Compression is the compression of new backups: gzip, zstd or none.
func (s Settings) Compression() string { return s.value(SettingCompression) }

// TimezoneName is the IANA name of the zone cron expressions are read in.
func (s Settings) TimezoneName() string { return s.value(SettingTimezone) }

// Location loads the time zone; an unknown zone is an error.
func (s Settings) Location() (*time.Location, error) {
	return time.LoadLocation(s.TimezoneName())
}

// Timezone is the time zone, UTC when it does not load.
func (s Settings) Timezone() *time.Location {
	loc, err := s.Location()
	if err != nil {
		return time.UTC
	}
	return loc
}

// RetentionFullDefault is the retention of full backups for a schedule
// that does not set its own.
func (s Settings) RetentionFullDefault() int { return s.intValue(SettingRetentionFullDefault, 0) }

// RetentionIncrDefault is the retention of incremental backups for a
// schedule that does not set its own.
func (s Settings) RetentionIncrDefault() int { return s.intValue(SettingRetentionIncrDefault, 0) }

// NotifyOnSuccess is the default of a new schedule's notify_on_success.
func (s Settings) NotifyOnSuccess() bool { return s.value(SettingNotifyOnSuccess) != "false" }

// NotifyOnFailure is the default of a new schedule's notify_on_failure.
func (s Settings) NotifyOnFailure() bool { return s.value(SettingNotifyOnFailure) != "false" }

// Tools are the tool paths the settings name.
func (s Settings) Tools() ToolPaths {
	return ToolPaths{
		PgDump: s.Values[SettingPgDumpPath], PgRestore: s.Values[SettingPgRestorePath],
		Mysqldump: s.Values[SettingMysqldumpPath], Mysql: s.Values[SettingMysqlPath],
	}
}

// Overrides are the values with a default that differ from it and that
// jagad.yaml does not set: what the API changed.
func (s Settings) Overrides() map[string]string {
	out := map[string]string{}
	for k, def := range DefaultSettings {
		v, ok := s.Values[k]
		if ok && v != def && !slices.Contains(s.FileKeys, k) {
			out[k] = v
		}
	}
	return out
}
