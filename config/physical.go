package config

import "fmt"

// CheckBackupTypeFor checks a backup type against the db_type of the
// connection it runs on: "physical" (pg_basebackup) is for postgresql only.
func CheckBackupTypeFor(backupType, dbType string) error {
	if backupType == "physical" && dbType != "postgresql" {
		return fmt.Errorf(`backup_type "physical" is not supported for %s connections (only postgresql)`, dbType)
	}
	return nil
}
