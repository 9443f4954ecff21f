// Package state is Jagad's single source of truth at run time: typed records
// kept in an embedded Badger store. The API and the reconciler write it; the
// engine reads it and learns about changes from the change feed.
package state

import (
	"fmt"
	"strings"
	"time"
)

// Kind names a record type. It is also the first segment of its Badger keys.
type Kind string

// Record kinds.
const (
	KindConnection   Kind = "connection"
	KindDatabase     Kind = "database"
	KindProvider     Kind = "provider"
	KindNotification Kind = "notification"
	KindSchedule     Kind = "schedule"
	KindBackup       Kind = "backup"
	KindRestore      Kind = "restore"
	KindSettings     Kind = "settings"
	KindAdmin        Kind = "admin"
	KindSession      Kind = "session"
	KindConfigStatus Kind = "config_status"
	KindToken        Kind = "token" // tokens.go
)

// ID prefixes, as the original Jagad uses them.
var idPrefix = map[Kind]string{
	KindConnection:   "conn_",
	KindDatabase:     "db_",
	KindProvider:     "prov_",
	KindNotification: "notif_",
	KindSchedule:     "sch_",
	KindBackup:       "bck_",
	KindRestore:      "res_",
	KindToken:        "tok_",
}

// ManagedBy says who owns a record: the jagad.yaml file or the REST API.
type ManagedBy string

// Owners.
const (
	ManagedByFile ManagedBy = "file"
	ManagedByAPI  ManagedBy = "api"
)

// Secret is a string that never prints itself. Fields of this type are sealed
// with AES-256-GCM under the master key before they reach Badger.
// It still marshals to JSON as its value (the store seals it before storing);
// API layers must blank or mask secrets before responding.
type Secret string

// String implements fmt.Stringer without revealing the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "<redacted>"
}

// GoString hides the value from %#v too.
func (s Secret) GoString() string { return s.String() }

// Reveal returns the clear-text value. Call it only where the secret is used.
func (s Secret) Reveal() string { return string(s) }

// Duration is a time.Duration that travels as a string ("6h", "30m").
type Duration time.Duration

// MarshalJSON encodes the duration as a Go duration string; zero is "".
func (d Duration) MarshalJSON() ([]byte, error) {
	if d == 0 {
		return []byte(`""`), nil
	}
	return []byte(`"` + time.Duration(d).String() + `"`), nil
}

// UnmarshalJSON accepts a Go duration string or "".
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// Record is implemented by every kind that is stored by ID.
type Record interface {
	Kind() Kind
	RecordID() string
}

// Meta is the part every named, owned resource shares.
type Meta struct {
	ID        string    `json:"id"`
	ManagedBy ManagedBy `json:"managed_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// RecordID returns the record's ID.
func (m Meta) RecordID() string { return m.ID }

// Connection is a database server Jagad can dump from and restore into.
type Connection struct {
	Meta
	ConnectionSpec
}

// ConnectionSpec is the part of a connection that jagad.yaml declares.
type ConnectionSpec struct {
	Name     string `json:"name"`
	DBType   string `json:"db_type"` // postgresql | mysql | mariadb
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Username string `json:"username"`
	Password Secret `json:"password"`
	SSLMode  string `json:"ssl_mode"`
	// Physical, when set, lets MySQL/MariaDB schedules take physical and
	// incremental backups (mariadb-backup reads the data directory).
	Physical *PhysicalSpec `json:"physical,omitempty"`
	// BinlogArchive, when enabled, archives the server's binary logs
	// (engine/binlog_archive.go).
	BinlogArchive *BinlogArchiveSpec `json:"binlog_archive,omitempty"`
	// WalArchive: continuous WAL archiving of a PostgreSQL connection.
	WalArchive *WalArchive `json:"wal_archive,omitempty"`
}

// BinlogArchiveSpec archives a MySQL/MariaDB server's completed binary log
// files on a storage provider, named by Storage ("" = the default one).
type BinlogArchiveSpec struct {
	Enabled bool   `json:"enabled"`
	Storage string `json:"storage,omitempty"`
}

// PhysicalSpec is where a connection's physical backups run: its data
// directory, readable by the daemon. Datadir "" = the server's datadir
// variable, checked readable at run time.
type PhysicalSpec struct {
	Datadir string `json:"datadir"`
}

// Kind implements Record.
func (Connection) Kind() Kind { return KindConnection }

// Database is one database inside a connection.
type Database struct {
	ID           string    `json:"id"`
	ConnectionID string    `json:"connection_id"`
	DBName       string    `json:"db_name"`
	IsSelected   bool      `json:"is_selected"`
	SizeBytes    int64     `json:"size_bytes"`
	ManagedBy    ManagedBy `json:"managed_by"`
	CreatedAt    time.Time `json:"created_at"`
}

// Kind implements Record.
func (Database) Kind() Kind { return KindDatabase }

// RecordID implements Record.
func (d Database) RecordID() string { return d.ID }

// Provider is a storage provider (local directory or S3-compatible bucket).
type Provider struct {
	Meta
	ProviderSpec
}

// ProviderSpec is the declared part of a storage provider.
type ProviderSpec struct {
	Name         string `json:"name"`
	ProviderType string `json:"provider_type"` // local | s3 | r2 | minio | gcs | b2 | s3-compat
	Endpoint     string `json:"endpoint"`
	Region       string `json:"region"`
	Bucket       string `json:"bucket"`
	Prefix       string `json:"prefix"`
	Path         string `json:"path"` // local only
	AccessKey    string `json:"access_key"`
	SecretKey    Secret `json:"secret_key"`
	PathStyle    bool   `json:"path_style"`
	IsDefault    bool   `json:"is_default"`

	// ObjectLock (S3 family) locks every uploaded object; zero: none.
	ObjectLock ObjectLock `json:"object_lock,omitzero"`
}

// ObjectLock is an S3 Object Lock retention set on upload: Mode governance
// or compliance, for Days days.
type ObjectLock struct {
	Mode string `json:"mode"`
	Days int    `json:"days"`
}

// Kind implements Record.
func (Provider) Kind() Kind { return KindProvider }

// Notification is a notification target.
type Notification struct {
	Meta
	NotificationSpec
}

// NotificationSpec is the declared part of a notification target.
type NotificationSpec struct {
	Name      string `json:"name"`
	NotifType string `json:"notif_type"` // telegram | discord | slack | email | webhook
	// ConfigJSON is the type-specific configuration as a JSON object. It holds
	// tokens and URLs, so the whole document is sealed.
	ConfigJSON Secret   `json:"config_json"`
	Events     []string `json:"events"`
}

// Kind implements Record.
func (Notification) Kind() Kind { return KindNotification }

// Schedule is a cron-driven backup of one database.
type Schedule struct {
	Meta
	ScheduleSpec
	// Override holds runtime overrides made through the API on a file-managed
	// schedule. It survives reloads until the file's value for the field changes.
	Override *Override `json:"override,omitempty"`
}

// Override is the set of fields the API may override on a file-managed schedule.
type Override struct {
	Enabled *bool `json:"enabled,omitempty"`
}

// RestoreTest is a schedule's restore-drill option.
type RestoreTest struct {
	ConnectionID string `json:"connection_id"`
	Every        int    `json:"every"`
}

// ScheduleSpec is the declared part of a schedule.
type ScheduleSpec struct {
	Name              string       `json:"name"`
	ConnectionID      string       `json:"connection_id"`
	DatabaseID        string       `json:"database_id"`
	BackupType        string       `json:"backup_type"` // full | incremental
	CronExpr          string       `json:"cron_expr"`
	StorageProviderID string       `json:"storage_provider_id"` // empty: the default provider
	EncryptionEnabled bool         `json:"encryption_enabled"`
	EncryptionKeyID   string       `json:"encryption_key_id"`
	VerifyEnabled     bool         `json:"verify_enabled"`
	RetentionFull     int          `json:"retention_full"`
	RetentionIncr     int          `json:"retention_incr"`
	KeepDaily         int          `json:"keep_daily,omitempty"`
	KeepWeekly        int          `json:"keep_weekly,omitempty"`
	KeepMonthly       int          `json:"keep_monthly,omitempty"`
	KeepYearly        int          `json:"keep_yearly,omitempty"`
	KeepWithin        Duration     `json:"keep_within,omitempty"`
	NotifTargetIDs    []string     `json:"notif_target_ids"`
	NotifyOnSuccess   bool         `json:"notify_on_success"`
	NotifyOnFailure   bool         `json:"notify_on_failure"`
	Enabled           bool         `json:"enabled"`
	Timeout           Duration     `json:"timeout,omitempty"`
	MaxAge            Duration     `json:"max_age,omitempty"`
	RestoreTest       *RestoreTest `json:"restore_test,omitempty"`
	// CopiesTo are the extra destinations every backup of the schedule is
	// uploaded to in the same pass as the primary (replicas.go).
	CopiesTo []CopyTarget `json:"copies_to,omitempty"`
}

// Kind implements Record.
func (Schedule) Kind() Kind { return KindSchedule }

// RetentionPolicy is the retention part of a schedule.
type RetentionPolicy struct {
	Full    int      `json:"full"`
	Incr    int      `json:"incr"`
	Daily   int      `json:"daily,omitempty"`
	Weekly  int      `json:"weekly,omitempty"`
	Monthly int      `json:"monthly,omitempty"`
	Yearly  int      `json:"yearly,omitempty"`
	Within  Duration `json:"within,omitempty"`
}

// Retention returns the schedule's retention policy.
func (s ScheduleSpec) Retention() RetentionPolicy {
	return RetentionPolicy{Full: s.RetentionFull, Incr: s.RetentionIncr, Daily: s.KeepDaily, Weekly: s.KeepWeekly,
		Monthly: s.KeepMonthly, Yearly: s.KeepYearly, Within: s.KeepWithin}
}

// EffectiveEnabled is Enabled with the API override applied.
func (s Schedule) EffectiveEnabled() bool {
	if s.Override != nil && s.Override.Enabled != nil {
		return *s.Override.Enabled
	}
	return s.Enabled
}

// Backup statuses.
const (
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusSuccess   = "success"
	StatusFailed    = "failed"
	StatusVerifying = "verifying"
)

// Verify statuses.
const (
	VerifyPending   = "pending"
	VerifyVerifying = "verifying"
	VerifyPassed    = "passed"
	VerifyFailed    = "failed"
)

// Backup is one backup run and the object it produced.
type Backup struct {
	ID                 string     `json:"id"`
	ConnectionID       string     `json:"connection_id"`
	DatabaseID         string     `json:"database_id"`
	ScheduleID         string     `json:"schedule_id"`
	ConnectionName     string     `json:"connection_name"`
	DatabaseName       string     `json:"database_name"`
	ScheduleName       string     `json:"schedule_name"`
	DBType             string     `json:"db_type"`
	BackupType         string     `json:"backup_type"`
	Status             string     `json:"status"`
	StoragePath        string     `json:"storage_path"`
	StorageProviderID  string     `json:"storage_provider_id"`
	SizeBytes          int64      `json:"size_bytes"` // raw dump bytes
	StoredSizeBytes    int64      `json:"stored_size_bytes"`
	EncryptedSizeBytes int64      `json:"encrypted_size_bytes"`
	EncryptionAlgo     string     `json:"encryption_algo"`
	EncryptionKeyID    string     `json:"encryption_key_id"`
	Compression        string     `json:"compression"`
	Checksum           string     `json:"checksum"`           // sha256 of compressed stream
	EncryptedChecksum  string     `json:"encrypted_checksum"` // sha256 of stored bytes
	VerifyStatus       string     `json:"verify_status"`
	VerifiedAt         *time.Time `json:"verified_at"`
	VerifyMode         string     `json:"verify_mode,omitempty"` // quick | deep
	DurationMs         int64      `json:"duration_ms"`
	LogOutput          string     `json:"log_output"`
	QueuedAt           *time.Time `json:"queued_at"`
	StartedAt          *time.Time `json:"started_at"`
	CompletedAt        *time.Time `json:"completed_at"`
	CreatedAt          time.Time  `json:"created_at"`
	NotifTargetIDs     []string   `json:"notif_target_ids"`
	NotifyOnSuccess    bool       `json:"notify_on_success"`
	NotifyOnFailure    bool       `json:"notify_on_failure"`
	ToolVersion        string     `json:"tool_version,omitempty"`
	ServerVersion      string     `json:"server_version,omitempty"`
	// Tables maps table name to row count captured at backup time (restore drills).
	Tables map[string]int64 `json:"tables,omitempty"`
	// Replicas are the copies of the backup's object, the primary first
	// (replicas.go). Records made before several destinations existed have
	// none: use Copies, which returns the primary alone for them.
	Replicas []Replica `json:"replicas,omitempty"`
	// RetentionError records a failed retention deletion, retried at the next run.
	RetentionError string `json:"retention_error,omitempty"`
	// Retention is the policy of the backup's schedule when it was made, so
	// that it still applies after the schedule is removed.
	Retention *RetentionPolicy `json:"retention,omitempty"`
	// Checks is the backup's verify and drill history, newest first, at
	// most MaxBackupChecks (checks.go).
	Checks []BackupCheck `json:"checks,omitempty"`
	// Physical backups (backup_type physical or incremental) form chains:
	// the InnoDB log sequence numbers the backup covers, the chain (the ID
	// of its full) and, for an incremental, the backup it applies on.
	FromLSN  uint64 `json:"from_lsn,omitempty"`
	ToLSN    uint64 `json:"to_lsn,omitempty"`
	ChainID  string `json:"chain_id,omitempty"`
	ParentID string `json:"parent_id,omitempty"`
	// ChainNote says why an incremental request became a full (no usable
	// parent), empty otherwise.
	ChainNote string `json:"chain_note,omitempty"`
	// BinlogFile and BinlogPos are the binary log coordinates of a
	// physical backup's consistent point (where a point-in-time replay
	// starts); empty when the server writes no binary log.
	BinlogFile string `json:"binlog_file,omitempty"`
	BinlogPos  uint64 `json:"binlog_pos,omitempty"`
	// Physical describes a PostgreSQL physical base backup (backup_type
	// physical on a postgresql connection): WAL points, timeline, system id.
	Physical *PhysicalInfo `json:"physical,omitempty"`
}

// Kind implements Record.
func (Backup) Kind() Kind { return KindBackup }

// RecordID implements Record.
func (b Backup) RecordID() string { return b.ID }

// Restore is one restore run.
type Restore struct {
	ID               string     `json:"id"`
	BackupID         string     `json:"backup_id"`
	TargetConnection string     `json:"target_connection"`
	TargetDatabase   string     `json:"target_database"`
	DropExisting     bool       `json:"drop_existing"`
	NoPrivileges     bool       `json:"no_privileges,omitempty"`
	RestoreType      string     `json:"restore_type,omitempty"` // "full" (also when empty) or "data-only"
	Drill            bool       `json:"drill,omitempty"`
	Status           string     `json:"status"`
	DurationMs       int64      `json:"duration_ms"`
	LogOutput        string     `json:"log_output"`
	StartedAt        *time.Time `json:"started_at"`
	CompletedAt      *time.Time `json:"completed_at"`
	CreatedAt        time.Time  `json:"created_at"`
	// TargetDir is the new data directory of a physical restore.
	TargetDir string `json:"target_dir,omitempty"`
	// PointInTime is the recovery target of a point-in-time restore: an
	// RFC 3339 time, an LSN, or "latest".
	PointInTime string `json:"point_in_time,omitempty"`
	// TargetTime, TargetLSN and Latest are the point the request asked for
	// (one of them), as given.
	TargetTime *time.Time `json:"target_time,omitempty"`
	TargetLSN  string     `json:"target_lsn,omitempty"`
	Latest     bool       `json:"latest,omitempty"`
}

// Kind implements Record.
func (Restore) Kind() Kind { return KindRestore }

// RecordID implements Record.
func (r Restore) RecordID() string { return r.ID }

// AdminUser is the single administrator.
type AdminUser struct {
	Username     string    `json:"username"`
	PasswordHash string    `json:"password_hash"` // argon2id, PHC string
	ChangedAt    time.Time `json:"changed_at"`
}

// Session is a login session, stored by the SHA-256 of its token.
type Session struct {
	TokenHash string    `json:"token_hash"`
	User      string    `json:"user"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// LastSeenAt is when the session was last used (coarsely: the API
	// updates it at most once a minute); zero means CreatedAt.
	LastSeenAt time.Time `json:"last_seen_at,omitzero"`
}

// ReloadEntry is one reload attempt of the config file.
type ReloadEntry struct {
	Generation int64     `json:"generation"`
	Trigger    string    `json:"trigger"`
	At         time.Time `json:"at"`
	DurationMs int64     `json:"duration_ms"`
	FileDigest string    `json:"file_digest"`
	GitCommit  string    `json:"git_commit,omitempty"`
	Result     string    `json:"result"` // applied | unchanged | failed | held
	Summary    string    `json:"summary"`
	Error      string    `json:"error,omitempty"`
}

// ConfigStatus is the reconciler's status record.
type ConfigStatus struct {
	Path          string        `json:"path"`
	Generation    int64         `json:"generation"`
	FileDigest    string        `json:"file_digest"`
	GitCommit     string        `json:"git_commit,omitempty"`
	LastAppliedAt *time.Time    `json:"last_applied_at"`
	LastReloadAt  *time.Time    `json:"last_reload_at"`
	DurationMs    int64         `json:"duration_ms"`
	Summary       string        `json:"summary"`
	LastError     string        `json:"last_error,omitempty"`
	Held          string        `json:"held,omitempty"` // "prune guard" when a plan waits for confirmation
	Healthy       bool          `json:"healthy"`
	History       []ReloadEntry `json:"history"` // newest first, at most 20
}
