// Package config loads and validates jagad.yaml (version 1). Loading is a pure
// function of the file and the environment: no logging, no globals, no side
// effects beyond reading the files it is asked to read. It imports nothing of
// Jagad's own packages.
package config

// File is a decoded, expanded jagad.yaml.
type File struct {
	Version        int            `yaml:"version"`
	AllowMassPrune bool           `yaml:"allow_mass_prune"`
	Server         Server         `yaml:"server"`
	Settings       Settings       `yaml:"settings"`
	Encryption     *Encryption    `yaml:"encryption"`
	Storage        []Storage      `yaml:"storage"`
	Connections    []Connection   `yaml:"connections"`
	Notifications  []Notification `yaml:"notifications"`
	Schedules      []Schedule     `yaml:"schedules"`
	Tokens         []Token        `yaml:"tokens"`  // tokens.go
	Cluster        *Cluster       `yaml:"cluster"` // cluster.go; nil: Jagad runs alone

	// Expansions records the ${...} references the loader expanded, to
	// show them instead of their values (see Expansions.Redact).
	Expansions *Expansions `yaml:"-" json:"-"`
}

// Server holds daemon options that may live in the file.
type Server struct {
	MetricsToken string `yaml:"metrics_token"` // secret
}

// Settings mirrors GET/PUT /api/settings. A nil field is not declared by the
// file and stays writable through the API.
type Settings struct {
	Timezone             *string `yaml:"timezone"`
	ConcurrentBackups    *int    `yaml:"concurrent_backups"`
	Compression          *string `yaml:"compression"` // gzip | zstd | none
	RetentionFullDefault *int    `yaml:"retention_full_default"`
	RetentionIncrDefault *int    `yaml:"retention_incr_default"`
	NotifyOnSuccess      *bool   `yaml:"notify_on_success"`
	NotifyOnFailure      *bool   `yaml:"notify_on_failure"`
	PgDumpPath           *string `yaml:"pg_dump_path"`
	PgRestorePath        *string `yaml:"pg_restore_path"`
	MysqldumpPath        *string `yaml:"mysqldump_path"`
	MysqlPath            *string `yaml:"mysql_path"`
}

// Encryption is the backup-data keyring.
type Encryption struct {
	ActiveKey         string `yaml:"active_key"`
	Keys              []Key  `yaml:"keys"`
	RecoveryRecipient string `yaml:"recovery_recipient"` // age X25519 recipient, optional
}

// Key is one keyring entry: a 32-byte base64 key or a passphrase.
type Key struct {
	ID  string `yaml:"id"`
	Key string `yaml:"key"` // secret
}

// Storage is a storage provider.
type Storage struct {
	Name         string `yaml:"name"`
	ProviderType string `yaml:"provider_type"` // local | s3 | r2 | minio | gcs | b2 | s3-compat
	Path         string `yaml:"path"`          // local
	Endpoint     string `yaml:"endpoint"`
	Region       string `yaml:"region"`
	Bucket       string `yaml:"bucket"`
	Prefix       string `yaml:"prefix"`
	AccessKey    string `yaml:"access_key"`
	SecretKey    string `yaml:"secret_key"` // secret
	PathStyle    *bool  `yaml:"path_style"` // nil: the provider type's default
	IsDefault    bool   `yaml:"is_default"`

	// ObjectLock (S3 family) locks every uploaded object; nil: none.
	ObjectLock *ObjectLock `yaml:"object_lock"`
}

// Connection is a database server.
type Connection struct {
	Name      string   `yaml:"name"`
	DBType    string   `yaml:"db_type"` // postgresql | mysql | mariadb
	Host      string   `yaml:"host"`
	Port      int      `yaml:"port"` // 0: the db_type's default
	Username  string   `yaml:"username"`
	Password  string   `yaml:"password"` // secret
	SSLMode   string   `yaml:"ssl_mode"` // default prefer
	Databases []string `yaml:"databases"`
	// Physical enables physical and incremental backups (MySQL/MariaDB).
	Physical *Physical `yaml:"physical"`
	// BinlogArchive archives the server's binary logs (MySQL/MariaDB,
	// point-in-time recovery; engine/binlog_archive.go).
	BinlogArchive *BinlogArchive `yaml:"binlog_archive"`
	// WalArchive turns on continuous WAL archiving (postgresql only).
	WalArchive *WalArchive `yaml:"wal_archive"`
}

// BinlogArchive streams a MySQL/MariaDB server's binary logs
// (mariadb-binlog --read-from-remote-server --raw --stop-never) and stores
// each completed file on Storage (a storage name; "" = the default).
type BinlogArchive struct {
	Enabled bool   `yaml:"enabled"`
	Storage string `yaml:"storage"`
}

// Physical is where a connection's physical backups run: the server's data
// directory as the daemon sees it ("" = the server's datadir variable).
type Physical struct {
	Datadir string `yaml:"datadir"`
}

// Notification is a notification target.
type Notification struct {
	Name   string         `yaml:"name"`
	Type   string         `yaml:"type"` // telegram | discord | slack | email | webhook
	Config map[string]any `yaml:"config"`
	Events []string       `yaml:"events"` // backup.succeeded | backup.failed | verify.failed | config.failed
}

// RestoreTest is a schedule's restore drill.
type RestoreTest struct {
	Connection string `yaml:"connection"`
	Every      int    `yaml:"every"`
}

// Schedule is a cron-driven backup.
type Schedule struct {
	Name              string       `yaml:"name"`
	Connection        string       `yaml:"connection"`
	Database          string       `yaml:"database"`
	BackupType        string       `yaml:"backup_type"` // default full
	CronExpr          string       `yaml:"cron_expr"`
	Storage           string       `yaml:"storage"` // empty: default provider
	EncryptionEnabled *bool        `yaml:"encryption_enabled"`
	VerifyEnabled     bool         `yaml:"verify_enabled"`
	RetentionFull     *int         `yaml:"retention_full"`
	RetentionIncr     *int         `yaml:"retention_incr"`
	KeepDaily         int          `yaml:"keep_daily"`
	KeepWeekly        int          `yaml:"keep_weekly"`
	KeepMonthly       int          `yaml:"keep_monthly"`
	KeepYearly        int          `yaml:"keep_yearly"`
	KeepWithin        Duration     `yaml:"keep_within"`
	Notifications     []string     `yaml:"notifications"`
	NotifyOnSuccess   *bool        `yaml:"notify_on_success"`
	NotifyOnFailure   *bool        `yaml:"notify_on_failure"`
	Enabled           *bool        `yaml:"enabled"`
	Timeout           Duration     `yaml:"timeout"` // default 6h
	MaxAge            Duration     `yaml:"max_age"` // alerting: a backup older than this is late
	RestoreTest       *RestoreTest `yaml:"restore_test"`
	CopiesTo          []CopyTarget `yaml:"copies_to"` // extra destinations (schedule_copies.go)
}
