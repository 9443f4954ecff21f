package state

import "time"

// MaxBackupChecks bounds the verify and drill history kept on a backup: the
// oldest entries go first.
const MaxBackupChecks = 20

// Kinds of backup checks.
const (
	CheckVerify = "verify"
	CheckDrill  = "drill"
)

// Row-count outcomes of a drill.
const (
	RowCountsMatch  = "match"
	RowCountsDiffer = "differ"
)

// BackupCheck is one verification or restore drill of a backup.
type BackupCheck struct {
	Kind string `json:"kind"`           // verify | drill
	Mode string `json:"mode,omitempty"` // verify: quick | deep
	// At is when the check ended.
	At         time.Time `json:"at"`
	DurationMs int64     `json:"duration_ms"`
	Result     string    `json:"result"` // passed | failed
	// Error is the scrubbed reason of a failure.
	Error string `json:"error,omitempty"`
	// RestoreID is the restore record of a drill (its log).
	RestoreID string `json:"restore_id,omitempty"`
	// RowCounts is a drill's comparison of the restored row counts with
	// those captured at backup time: match, differ, or empty when the drill
	// failed before counting. Tables and Rows are what was counted.
	RowCounts string `json:"row_counts,omitempty"`
	Tables    int    `json:"tables,omitempty"`
	Rows      int64  `json:"rows,omitempty"`
}

// AddCheck records a check on the backup, newest first, keeping the last
// MaxBackupChecks.
func (b *Backup) AddCheck(c BackupCheck) {
	out := make([]BackupCheck, 0, min(len(b.Checks)+1, MaxBackupChecks))
	out = append(out, c)
	for _, x := range b.Checks {
		if len(out) == MaxBackupChecks {
			break
		}
		out = append(out, x)
	}
	b.Checks = out
}
