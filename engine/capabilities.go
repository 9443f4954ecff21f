package engine

import (
	"time"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/state"
)

// Capabilities is what a backup's kind supports beyond restoring it whole.
// The restore wizard offers an option only when the backup's capabilities
// declare it.
type Capabilities struct {
	// PointInTime: the backup can be restored to a chosen moment from
	// PointInTimeFrom on (target_time): a PostgreSQL base backup of a
	// connection archiving its WAL, or a MySQL/MariaDB physical backup with
	// binary log coordinates of a connection archiving its binary logs.
	// PointInTimeTo, when set, bounds the window; unset, it reaches the
	// newest archived file.
	PointInTime     bool       `json:"point_in_time"`
	PointInTimeFrom *time.Time `json:"point_in_time_from,omitempty"`
	PointInTimeTo   *time.Time `json:"point_in_time_to,omitempty"`
	// Latest: the backup can be restored to the end of the archive
	// (latest; PostgreSQL), as can a target_lsn.
	Latest bool `json:"latest,omitempty"`
	// TargetDir: the backup restores a whole server into a new data
	// directory (target_dir), not into a connection's database.
	TargetDir bool `json:"target_dir,omitempty"`
	// Check: the restore can start a throwaway server on the restored
	// directory to check it (check; PostgreSQL base backups).
	Check bool `json:"check,omitempty"`
}

// CapabilitiesOf returns the capabilities of b, a backup of conn (nil:
// the connection is gone, so its archive is no longer followed). A
// logical dump (pg_dump, mariadb-dump) restores to the end of the dump,
// never to another moment.
func CapabilitiesOf(b state.Backup, conn *state.Connection) Capabilities {
	var c Capabilities
	if !isPhysical(b.BackupType) {
		return c
	}
	c.TargetDir = true
	ok := b.Status == state.StatusSuccess && b.CompletedAt != nil && conn != nil
	switch {
	case b.DBType == dbclient.PostgreSQL:
		c.Check = true
		if ok && b.Physical != nil && conn.WalArchive != nil && conn.WalArchive.Enabled {
			c.PointInTime, c.Latest = true, true
		}
	case ok && b.BinlogFile != "" && conn.BinlogArchive != nil && conn.BinlogArchive.Enabled:
		c.PointInTime = true
	}
	if c.PointInTime {
		from := b.CompletedAt.UTC()
		c.PointInTimeFrom = &from
	}
	return c
}
