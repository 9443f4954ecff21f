package state

// BackupPhysical is the backup_type of a PostgreSQL physical base backup
// (pg_basebackup over the replication protocol: the whole cluster as one
// tar, with the WAL needed to make it consistent).
const BackupPhysical = "physical"

// PhysicalInfo describes a physical base backup: where in the WAL it starts
// and ends and which cluster it belongs to. A restore replays WAL from
// StartLSN at least up to StopLSN before the copy is consistent.
type PhysicalInfo struct {
	StartLSN string `json:"start_lsn"` // e.g. "0/2000028"
	StopLSN  string `json:"stop_lsn"`
	Timeline int    `json:"timeline"`
	// SystemID is the cluster's system identifier (IDENTIFY_SYSTEM): WAL of
	// another cluster can never be replayed onto this base.
	SystemID string `json:"system_identifier"`
}
