package config

import "time"

// Defaults of jagad.yaml version 1.
const (
	DefaultSSLMode    = "prefer"
	DefaultBackupType = "full"
	DefaultTimeout    = 6 * time.Hour
	DefaultRegion     = "auto" // non-AWS members of the S3 family
	DefaultGCSURL     = "https://storage.googleapis.com"
)

// DefaultPort returns the default port of a db_type (0 when unknown).
func DefaultPort(dbType string) int {
	switch dbType {
	case "postgresql":
		return 5432
	case "mysql", "mariadb":
		return 3306
	}
	return 0
}

// SetDefaults fills the zero fields of c with their defaults: port by
// db_type and ssl_mode "prefer". The API calls it before ValidateConnection.
func (c *Connection) SetDefaults() {
	if c.Port == 0 {
		c.Port = DefaultPort(c.DBType)
	}
	if c.SSLMode == "" {
		c.SSLMode = DefaultSSLMode
	}
}

// SetDefaults fills the zero fields of s: region "auto" for the non-AWS S3
// family, the endpoint of AWS S3 derived from the region, and the GCS endpoint.
func (s *Storage) SetDefaults() {
	switch s.ProviderType {
	case "s3":
		if s.Endpoint == "" && s.Region != "" {
			s.Endpoint = "https://s3." + s.Region + ".amazonaws.com"
		}
	case "gcs":
		if s.Endpoint == "" {
			s.Endpoint = DefaultGCSURL
		}
		fallthrough
	case "r2", "minio", "b2", "s3-compat":
		if s.Region == "" {
			s.Region = DefaultRegion
		}
	}
}

// SetDefaults fills the zero fields of s: backup_type "full", enabled true,
// timeout 6h, and restore_test.every 1.
func (s *Schedule) SetDefaults() {
	if s.BackupType == "" {
		s.BackupType = DefaultBackupType
	}
	if s.Enabled == nil {
		t := true
		s.Enabled = &t
	}
	if s.Timeout == 0 {
		s.Timeout = Duration(DefaultTimeout)
	}
	if s.RestoreTest != nil && s.RestoreTest.Every == 0 {
		s.RestoreTest.Every = 1
	}
}

// IsEnabled reports whether the schedule runs (nil means enabled).
func (s Schedule) IsEnabled() bool { return s.Enabled == nil || *s.Enabled }

// IsS3Family reports whether a provider type is stored through the S3 API.
func IsS3Family(providerType string) bool {
	switch providerType {
	case "s3", "r2", "minio", "gcs", "b2", "s3-compat":
		return true
	}
	return false
}
