package config

import (
	"fmt"
	"strconv"

	"github.com/jagad/jagad/config/cron"
)

// backupTypes are the backup types a schedule or a one-shot backup may
// declare. "incremental" stays a known type of backup records (stats count
// it, retention keeps the fulls incrementals need) but cannot be declared
// until physical backups (pgBackRest, XtraBackup, Mariabackup) are run.
var backupTypes = []string{"full", "physical"}

// CheckBackupType checks a declared backup type: a schedule's backup_type
// and POST /api/backups's. "" is the caller's to default.
func CheckBackupType(t string) error {
	if t == "incremental" {
		return fmt.Errorf(`"incremental" is not supported yet: it needs physical backups (pgBackRest, XtraBackup, Mariabackup), which this build does not run; the supported backup_type is "full" (a logical dump of the whole database)`)
	}
	if !oneOf(t, backupTypes...) {
		return fmt.Errorf("%s", enumError(t, backupTypes...))
	}
	return nil
}

// ValidateSchedule checks the fields of s on their own; whether its
// connection, storage, notifications and restore_test connection exist is
// checked by the file-level pass (and by the API against the store). Call
// s.SetDefaults() first.
func ValidateSchedule(s Schedule) []FieldError {
	var errs fieldErrs
	errs.addErr("name", CheckName(s.Name))
	errs.addErr("connection", refName(s.Connection, true))
	errs.addErr("database", CheckDatabaseName(s.Database))
	errs.addErr("backup_type", CheckBackupType(s.BackupType))
	if _, err := cron.Parse(s.CronExpr, nil); err != nil {
		errs.addErr("cron_expr", err)
	}
	errs.addErr("storage", refName(s.Storage, false))
	for _, r := range []struct {
		field string
		v     *int
	}{{"retention_full", s.RetentionFull}, {"retention_incr", s.RetentionIncr}} {
		if r.v != nil && *r.v < 1 {
			errs.add(r.field, "must be at least 1, got %d", *r.v)
		}
	}
	for _, k := range []struct {
		field string
		v     int
	}{{"keep_daily", s.KeepDaily}, {"keep_weekly", s.KeepWeekly}, {"keep_monthly", s.KeepMonthly}, {"keep_yearly", s.KeepYearly}} {
		if k.v < 0 {
			errs.add(k.field, "must not be negative, got %d", k.v)
		}
	}
	if s.KeepWithin < 0 {
		errs.add("keep_within", "must not be negative")
	}
	if s.MaxAge < 0 {
		errs.add("max_age", "must not be negative")
	}
	if s.Timeout <= 0 {
		errs.add("timeout", "must be greater than 0 (omit it for the default %s)", DefaultTimeout)
	}
	seen := map[string]bool{}
	for i, n := range s.Notifications {
		field := "notifications[" + strconv.Itoa(i) + "]"
		if err := refName(n, true); err != nil {
			errs.addErr(field, err)
		} else if seen[n] {
			errs.add(field, "duplicate notification %q", n)
		}
		seen[n] = true
	}
	if rt := s.RestoreTest; rt != nil {
		errs.addErr("restore_test.connection", refName(rt.Connection, true))
		if rt.Every < 1 {
			errs.add("restore_test.every", "must be at least 1, got %d", rt.Every)
		}
	}
	return errs
}

// refName checks a reference to another resource by name.
func refName(name string, required bool) error {
	if name == "" && !required {
		return nil
	}
	return CheckName(name)
}
