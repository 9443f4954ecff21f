package engine

import (
	"time"

	"github.com/jagad/jagad/state"
)

// Capabilities is what a backup's kind supports beyond restoring it whole.
// The restore wizard offers an option only when the backup's capabilities
// declare it.
type Capabilities struct {
	// PointInTime: the backup can be restored to a chosen moment between
	// PointInTimeFrom and PointInTimeTo (a physical backup with its WAL or
	// binlog archive). No kind Jagad makes supports it yet.
	PointInTime     bool       `json:"point_in_time"`
	PointInTimeFrom *time.Time `json:"point_in_time_from,omitempty"`
	PointInTimeTo   *time.Time `json:"point_in_time_to,omitempty"`
}

// CapabilitiesOf returns the capabilities of b's kind. Every kind today is
// a logical dump (pg_dump, mariadb-dump): it restores to the state at the
// end of the dump, never to another moment. Physical backups will declare
// PointInTime here, with the window their archive covers.
func CapabilitiesOf(b state.Backup) Capabilities {
	_ = b // kept for the kinds to come (b.DBType, b.BackupType)
	return Capabilities{}
}
