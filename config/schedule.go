package config

import (
	"fmt"
	"strconv"

	"github.com/jagad/jagad/config/cron"
)

// backupTypes are the backup types a schedule or a one-shot backup may
// declare: full (a logical dump), physical and incremental. On a
// mysql/mariadb connection physical is mariadb-backup (a chain's base) and
// incremental mariadb-backup since the chain's last LSN; both need the
// connection's physical option (CheckPhysical). On a postgresql connection
// physical is pg_basebackup (no option needed; wal_archive adds
// point-in-time recovery) and incremental is not supported.
var backupTypes = []string{"full", "physical", "incremental"}

// IsPhysical reports whether a backup type is physical (mariadb-backup or
// pg_basebackup, by the connection's db_type).
func IsPhysical(t string) bool { return t == "physical" || t == "incremental" }

// CheckBackupType checks a declared backup type: a schedule's backup_type
// and POST /api/backups's. "" is the caller's to default.
func CheckBackupType(t string) error {
	if !oneOf(t, backupTypes...) {
		return fmt.Errorf("%s", enumError(t, backupTypes...))
	}
	return nil
}

// CheckPhysical checks that a connection can take a backup of type t:
// physical on postgresql (pg_basebackup) always; physical and incremental
// on mysql or mariadb when the connection's physical option says where its
// data directory is.
func CheckPhysical(t, connName, dbType string, p *Physical) error {
	if !IsPhysical(t) {
		return nil
	}
	if dbType == "postgresql" {
		if t == "physical" {
			return nil
		}
		return fmt.Errorf("backup_type %q needs a mysql or mariadb connection (mariadb-backup); connection %q is postgresql, which takes backup_type physical (pg_basebackup) and wal_archive for point-in-time recovery", t, connName)
	}
	if dbType != "mysql" && dbType != "mariadb" {
		return fmt.Errorf("backup_type %q needs a mysql or mariadb connection (mariadb-backup); connection %q is %s", t, connName, dbType)
	}
	if p == nil {
		return fmt.Errorf("backup_type %q needs connection %q to declare where its data directory is readable (physical: {datadir: /var/lib/mysql}, or physical: {} to use the server's datadir variable): physical backups run where the daemon can read the server's files", t, connName)
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
	validateCopies(s, &errs)
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
