package objfmt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

// ManifestSuffix is appended to an object key for its manifest.
const ManifestSuffix = ".manifest.json"

// ManifestFormat identifies the manifest layout.
const ManifestFormat = "jagad-manifest/1"

// Manifest describes one stored backup, so that the bucket alone describes
// its backups: disaster recovery and catalog rebuilds read only these.
type Manifest struct {
	Format            string           `json:"format"`
	BackupID          string           `json:"backup_id"`
	ObjectKey         string           `json:"object_key"`
	ConnectionID      string           `json:"connection_id"`
	ConnectionName    string           `json:"connection_name"`
	DatabaseID        string           `json:"database_id"`
	DatabaseName      string           `json:"database_name"`
	ScheduleID        string           `json:"schedule_id,omitempty"`
	ScheduleName      string           `json:"schedule_name,omitempty"`
	StorageProviderID string           `json:"storage_provider_id"`
	DBType            string           `json:"db_type"`
	BackupType        string           `json:"backup_type"`
	Compression       string           `json:"compression"`
	Encrypted         bool             `json:"encrypted"`
	EncryptionAlgo    string           `json:"encryption_algo,omitempty"`
	EncryptionKeyID   string           `json:"encryption_key_id,omitempty"`
	SizeBytes         int64            `json:"size_bytes"`
	StoredSizeBytes   int64            `json:"stored_size_bytes"`
	Checksum          string           `json:"checksum"`
	EncryptedChecksum string           `json:"encrypted_checksum"`
	ToolVersion       string           `json:"tool_version,omitempty"`
	ServerVersion     string           `json:"server_version,omitempty"`
	Tables            map[string]int64 `json:"tables,omitempty"`
	StartedAt         *time.Time       `json:"started_at"`
	CompletedAt       time.Time        `json:"completed_at"`
	JagadVersion      string           `json:"jagad_version"`
	// Physical chains (backup_type physical or incremental).
	FromLSN  uint64 `json:"from_lsn,omitempty"`
	ToLSN    uint64 `json:"to_lsn,omitempty"`
	ChainID  string `json:"chain_id,omitempty"`
	ParentID string `json:"parent_id,omitempty"`
	// Binary log coordinates of a physical backup (point-in-time replay).
	BinlogFile string `json:"binlog_file,omitempty"`
	BinlogPos  uint64 `json:"binlog_pos,omitempty"`
	// Physical: LSNs, timeline and system identifier of a physical base backup.
	Physical *state.PhysicalInfo `json:"physical,omitempty"`
}

// ManifestOf builds the manifest of a completed backup.
func ManifestOf(b state.Backup, version string, completed time.Time) Manifest {
	return Manifest{
		Format: ManifestFormat, BackupID: b.ID, ObjectKey: b.StoragePath,
		ConnectionID: b.ConnectionID, ConnectionName: b.ConnectionName,
		DatabaseID: b.DatabaseID, DatabaseName: b.DatabaseName,
		ScheduleID: b.ScheduleID, ScheduleName: b.ScheduleName, StorageProviderID: b.StorageProviderID,
		DBType: b.DBType, BackupType: b.BackupType, Compression: b.Compression,
		Encrypted: b.EncryptionAlgo != "", EncryptionAlgo: b.EncryptionAlgo, EncryptionKeyID: b.EncryptionKeyID,
		SizeBytes: b.SizeBytes, StoredSizeBytes: b.StoredSizeBytes,
		Checksum: b.Checksum, EncryptedChecksum: b.EncryptedChecksum,
		ToolVersion: b.ToolVersion, ServerVersion: b.ServerVersion, Tables: b.Tables,
		StartedAt: b.StartedAt, CompletedAt: completed.UTC(), JagadVersion: version,
		FromLSN: b.FromLSN, ToLSN: b.ToLSN, ChainID: b.ChainID, ParentID: b.ParentID,
		BinlogFile: b.BinlogFile, BinlogPos: b.BinlogPos,
		Physical: b.Physical,
	}
}

// WriteManifest stores m beside its object.
func WriteManifest(ctx context.Context, st storage.Store, m Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	if _, err := st.Put(ctx, m.ObjectKey+ManifestSuffix, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("store manifest: %w", err)
	}
	return nil
}

// ReadManifest loads and checks a manifest from storage.
func ReadManifest(ctx context.Context, st storage.Store, key string) (Manifest, error) {
	rc, err := st.Get(ctx, key)
	if err != nil {
		return Manifest{}, fmt.Errorf("read manifest %s: %w", key, err)
	}
	defer rc.Close()
	var m Manifest
	dec := json.NewDecoder(rc)
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("decode manifest %s: %w", key, err)
	}
	if m.Format != ManifestFormat {
		return Manifest{}, fmt.Errorf("manifest %s: unknown format %q", key, m.Format)
	}
	return m, nil
}
