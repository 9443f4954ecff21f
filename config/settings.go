package config

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // settings.timezone must load on hosts without zoneinfo
)

var compressions = []string{"gzip", "zstd", "none"}

// SettingKeys returns every settings key, in file order.
func SettingKeys() []string {
	return []string{
		"timezone", "concurrent_backups", "compression", "retention_full_default",
		"retention_incr_default", "notify_on_success", "notify_on_failure",
		"pg_dump_path", "pg_restore_path", "mysqldump_path", "mysql_path",
	}
}

// Map returns the settings the file declares, as the strings the API uses
// ("3", "true"). Undeclared (nil) settings are absent from the map.
func (s Settings) Map() map[string]string {
	m := map[string]string{}
	str := func(k string, v *string) {
		if v != nil {
			m[k] = *v
		}
	}
	num := func(k string, v *int) {
		if v != nil {
			m[k] = strconv.Itoa(*v)
		}
	}
	flag := func(k string, v *bool) {
		if v != nil {
			m[k] = strconv.FormatBool(*v)
		}
	}
	str("timezone", s.Timezone)
	num("concurrent_backups", s.ConcurrentBackups)
	str("compression", s.Compression)
	num("retention_full_default", s.RetentionFullDefault)
	num("retention_incr_default", s.RetentionIncrDefault)
	flag("notify_on_success", s.NotifyOnSuccess)
	flag("notify_on_failure", s.NotifyOnFailure)
	str("pg_dump_path", s.PgDumpPath)
	str("pg_restore_path", s.PgRestorePath)
	str("mysqldump_path", s.MysqldumpPath)
	str("mysql_path", s.MysqlPath)
	return m
}

// SettingsFromMap is the inverse of Map: the settings declared by a string
// map of the API's form. A value that does not parse as its field's type is
// left out (ValidateSettings reports it); unknown keys are ignored.
func SettingsFromMap(m map[string]string) Settings {
	var s Settings
	str := func(k string, dst **string) {
		if v, ok := m[k]; ok {
			*dst = &v
		}
	}
	num := func(k string, dst **int) {
		if n, err := strconv.Atoi(m[k]); err == nil {
			*dst = &n
		}
	}
	flag := func(k string, dst **bool) {
		if b, err := strconv.ParseBool(m[k]); err == nil {
			*dst = &b
		}
	}
	str("timezone", &s.Timezone)
	num("concurrent_backups", &s.ConcurrentBackups)
	str("compression", &s.Compression)
	num("retention_full_default", &s.RetentionFullDefault)
	num("retention_incr_default", &s.RetentionIncrDefault)
	flag("notify_on_success", &s.NotifyOnSuccess)
	flag("notify_on_failure", &s.NotifyOnFailure)
	str("pg_dump_path", &s.PgDumpPath)
	str("pg_restore_path", &s.PgRestorePath)
	str("mysqldump_path", &s.MysqldumpPath)
	str("mysql_path", &s.MysqlPath)
	return s
}

// ValidateSettings checks settings given as strings (the API's form). An
// unknown key is an error "unknown setting: KEY". Errors come in key order.
func ValidateSettings(settings map[string]string) []FieldError {
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var errs fieldErrs
	for _, k := range keys {
		if err := checkSetting(k, settings[k]); err != nil {
			errs.addErr(k, err)
		}
	}
	return errs
}

func checkSetting(key, v string) error {
	switch key {
	case "timezone":
		_, err := LoadTimezone(v)
		return err
	case "concurrent_backups":
		return checkIntRange(v, 1, 64)
	case "compression":
		if !oneOf(v, compressions...) {
			return fmt.Errorf("%s", enumError(v, compressions...))
		}
	case "retention_full_default", "retention_incr_default":
		return checkIntRange(v, 0, 1<<31-1)
	case "notify_on_success", "notify_on_failure":
		if v != "true" && v != "false" {
			return fmt.Errorf("must be true or false, got %q", v)
		}
	case "pg_dump_path", "pg_restore_path", "mysqldump_path", "mysql_path":
		return checkToolPath(v)
	default:
		return fmt.Errorf("unknown setting: %s", key)
	}
	return nil
}

// LoadTimezone loads an IANA zone ("UTC", "Asia/Jakarta"); "Local" and the
// empty string are refused because they depend on the host.
func LoadTimezone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("must be an IANA time zone such as UTC or Europe/Berlin")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	return loc, nil
}

func checkIntRange(v string, lo, hi int) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("must be an integer, got %q", v)
	}
	if n < lo || n > hi {
		if hi == 1<<31-1 {
			return fmt.Errorf("must not be negative, got %d", n)
		}
		return fmt.Errorf("must be between %d and %d, got %d", lo, hi, n)
	}
	return nil
}

// checkToolPath accepts an absolute path or a bare program name looked up in PATH.
func checkToolPath(v string) error {
	switch {
	case v == "":
		return fmt.Errorf("must not be empty")
	case hasControl(v):
		return fmt.Errorf("must not contain control characters")
	case !filepath.IsAbs(v) && strings.ContainsRune(v, '/'):
		return fmt.Errorf("must be an absolute path or a program name")
	case strings.HasPrefix(v, "-"):
		return fmt.Errorf("must not start with '-'")
	}
	return nil
}
