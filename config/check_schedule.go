package config

import (
	"slices"
	"strconv"
)

func (c *checker) checkSchedules(storage map[string]Storage, conns map[string]Connection, notifs map[string]Notification) {
	seen := map[string]int{}
	for i, s := range c.file.Schedules {
		prefix, lbl := label("schedule", "schedules", i, s.Name)
		c.fieldErrors(prefix, lbl, ValidateSchedule(s))
		c.unique(seen, "schedule", prefix, s.Name)
		c.checkScheduleRefs(prefix, lbl, s, storage, conns, notifs)
	}
}

func (c *checker) checkScheduleRefs(prefix, lbl string, s Schedule, storage map[string]Storage, conns map[string]Connection, notifs map[string]Notification) {
	conn, connOK := conns[s.Connection]
	if s.Connection != "" && !connOK && !c.skip(prefix+".connection") {
		c.errorAt(prefix+".connection", "%s: connection %q is not defined", lbl, s.Connection)
	}
	if connOK && len(conn.Databases) > 0 && s.Database != "" && !slices.Contains(conn.Databases, s.Database) && !c.skip(prefix+".database") {
		c.warnAt(prefix+".database", "%s: database %q is not in connection %q's databases list", lbl, s.Database, s.Connection)
	}
	if err := CheckBackupTypeFor(s.BackupType, conn.DBType); connOK && err != nil && !c.skip(prefix+".backup_type") {
		c.errorAt(prefix+".backup_type", "%s: %v", lbl, err)
	}
	if _, ok := storage[s.Storage]; s.Storage != "" && !ok && !c.skip(prefix+".storage") {
		c.errorAt(prefix+".storage", "%s: storage %q is not defined", lbl, s.Storage)
	}
	for j, n := range s.Notifications {
		path := prefix + ".notifications[" + strconv.Itoa(j) + "]"
		if _, ok := notifs[n]; n != "" && !ok && !c.skip(path) {
			c.errorAt(path, "%s: notification %q is not defined", lbl, n)
		}
	}
	if rt := s.RestoreTest; rt != nil && rt.Connection != "" && !c.skip(prefix+".restore_test.connection") {
		target, ok := conns[rt.Connection]
		switch {
		case !ok:
			c.errorAt(prefix+".restore_test.connection", "%s: restore_test.connection %q is not defined", lbl, rt.Connection)
		case connOK && target.DBType != conn.DBType:
			c.errorAt(prefix+".restore_test.connection", "%s: restore_test.connection %q is %s but connection %q is %s",
				lbl, rt.Connection, target.DBType, s.Connection, conn.DBType)
		}
	}
	if s.EncryptionEnabled != nil && *s.EncryptionEnabled && c.file.Encryption == nil {
		c.warnAt(prefix+".encryption_enabled", "%s: encryption_enabled without an encryption section: JAGAD_ENCRYPTION_KEY must be set", lbl)
	}
}
