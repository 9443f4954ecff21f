package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// Replica is one copy of a backup's object on one storage provider, as
// GET /api/backups/{id} lists it in replicas (the primary first).
type Replica struct {
	ProviderID        string     `json:"provider_id"`
	ProviderName      string     `json:"provider_name,omitempty"`
	StoragePath       string     `json:"storage_path"`
	Primary           bool       `json:"primary,omitempty"`
	Status            string     `json:"status"` // pending | success | failed
	SizeBytes         int64      `json:"size_bytes"`
	EncryptedChecksum string     `json:"encrypted_checksum,omitempty"`
	UploadedAt        *time.Time `json:"uploaded_at,omitempty"`
	VerifiedAt        *time.Time `json:"verified_at,omitempty"`
	VerifyStatus      string     `json:"verify_status,omitempty"`
	Error             string     `json:"error,omitempty"`
	Attempts          int        `json:"attempts,omitempty"`
}

// CopyStarted is the answer of POST /api/backups/{id}/copies.
type CopyStarted struct {
	Status   string  `json:"status"` // copying
	BackupID string  `json:"backup_id"`
	Replica  Replica `json:"replica"`
}

// CopyBackup copies an existing backup to another storage provider (a
// backfill); the daemon copies in the background and the copy shows in the
// backup's replicas, pending until it is stored or failed.
func (c *Client) CopyBackup(ctx context.Context, id, providerID string) (CopyStarted, json.RawMessage, error) {
	return fetch[CopyStarted](ctx, c, http.MethodPost, "/api/backups/"+url.PathEscape(id)+"/copies",
		map[string]string{"storage_provider_id": providerID})
}

// Provider is a storage provider as GET /api/storage-providers lists it
// (the fields the CLI uses).
type Provider struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	ProviderType string `json:"provider_type"`
}

// Providers lists the storage providers.
func (c *Client) Providers(ctx context.Context) ([]Provider, json.RawMessage, error) {
	return fetch[[]Provider](ctx, c, http.MethodGet, "/api/storage-providers", nil)
}
