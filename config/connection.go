package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Enums of connections.
var (
	dbTypes         = []string{"postgresql", "mysql", "mariadb"}
	pgSSLModes      = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
	mysqlSSLModes   = []string{"disable", "prefer", "require", "verify-ca", "verify-full", "false", "true", "skip-verify", "preferred"}
	maxDatabaseName = 64
)

// ValidateConnection checks every field of c. Call c.SetDefaults() first to
// fill the default port and ssl_mode.
func ValidateConnection(c Connection) []FieldError {
	var errs fieldErrs
	errs.addErr("name", CheckName(c.Name))
	if !oneOf(c.DBType, dbTypes...) {
		errs.add("db_type", "%s", enumError(c.DBType, dbTypes...))
	}
	errs.addErr("host", checkArg(c.Host, true))
	// A port left at 0 with an unknown db_type has no default; the db_type error says it all.
	if (c.Port < 1 || c.Port > 65535) && (c.Port != 0 || DefaultPort(c.DBType) != 0) {
		errs.add("port", "must be between 1 and 65535, got %d", c.Port)
	}
	errs.addErr("username", checkArg(c.Username, false))
	if strings.ContainsAny(c.Password, "\x00\r\n") {
		errs.add("password", "must not contain NUL or newline characters")
	}
	modes := pgSSLModes
	if c.DBType == "mysql" || c.DBType == "mariadb" {
		modes = mysqlSSLModes
	}
	if !oneOf(c.SSLMode, modes...) {
		errs.add("ssl_mode", "%s", enumError(c.SSLMode, modes...))
	}
	if p := c.Physical; p != nil {
		if c.DBType != "mysql" && c.DBType != "mariadb" {
			errs.add("physical", "the physical option (mariadb-backup's data directory) is for db_type mysql or mariadb, got %q (a postgresql connection takes backup_type physical, pg_basebackup, without it)", c.DBType)
		}
		if p.Datadir != "" && (!strings.HasPrefix(p.Datadir, "/") || hasControl(p.Datadir)) {
			errs.add("physical.datadir", "must be an absolute path, got %q", p.Datadir)
		}
	}
	if a := c.BinlogArchive; a != nil && a.Enabled {
		if c.DBType != "mysql" && c.DBType != "mariadb" {
			errs.add("binlog_archive", "binary log archiving needs db_type mysql or mariadb, got %q", c.DBType)
		}
		errs.addErr("binlog_archive.storage", refName(a.Storage, false))
	}
	seen := map[string]bool{}
	for i, db := range c.Databases {
		field := "databases[" + strconv.Itoa(i) + "]"
		if err := CheckDatabaseName(db); err != nil {
			errs.addErr(field, err)
		} else if seen[db] {
			errs.add(field, "duplicate database %q", db)
		}
		seen[db] = true
	}
	return errs
}

// CheckDatabaseName checks a database name used in object keys and as a
// dump tool argument.
func CheckDatabaseName(db string) error {
	if db == "" {
		return fmt.Errorf("is required")
	}
	if len(db) > maxDatabaseName {
		return fmt.Errorf("must be at most %d characters", maxDatabaseName)
	}
	if strings.HasPrefix(db, "-") {
		return fmt.Errorf("must not start with '-'")
	}
	return checkKeySafe(db)
}

// checkArg checks a value that ends up as a tool argument (host, user).
func checkArg(v string, required bool) error {
	switch {
	case v == "" && required:
		return fmt.Errorf("is required")
	case strings.HasPrefix(v, "-"):
		return fmt.Errorf("must not start with '-'")
	case hasControl(v) || strings.ContainsAny(v, " \t"):
		return fmt.Errorf("must not contain spaces or control characters")
	}
	return nil
}
