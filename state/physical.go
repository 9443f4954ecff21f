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

// WalArchive is a connection's continuous WAL archiving: the daemon runs
// pg_receivewal on a replication slot named after the connection and
// uploads every completed segment to the storage provider named Storage.
type WalArchive struct {
	Enabled bool   `json:"enabled"`
	Storage string `json:"storage"` // provider name
	// SpoolMaxBytes bounds the local spool; 0 = DefaultSpoolMaxBytes.
	SpoolMaxBytes int64 `json:"spool_max_bytes,omitempty"`
}

// DefaultSpoolMaxBytes is the default bound of a WAL spool (64 segments).
const DefaultSpoolMaxBytes = 64 << 24
