package api

import (
	"context"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/jagad/jagad/state"
)

// BackupCopier copies an existing backup to another storage provider in the
// background (a backfill of a new destination). The engine implements it;
// an engine that does not answers 503.
type BackupCopier interface {
	CopyBackup(ctx context.Context, backupID, providerID string) (state.Replica, error)
}

type copyInput struct {
	StorageProviderID string `json:"storage_provider_id"`
}

type copyResponse struct {
	Status   string        `json:"status"` // "copying"
	BackupID string        `json:"backup_id"`
	Replica  state.Replica `json:"replica"`
}

// copyBackup is POST /api/backups/{id}/copies {"storage_provider_id": …}:
// 202 with the pending replica; the copy runs on the engine's context and
// its outcome shows on the backup's replicas (and in its log).
func (s *server) copyBackup(r *http.Request, p httprouter.Params) (any, error) {
	var in copyInput
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	if in.StorageProviderID == "" {
		return nil, missing("storage_provider_id")
	}
	c, ok := s.engine.(BackupCopier)
	if !ok {
		return nil, errNoEngine
	}
	rep, err := c.CopyBackup(r.Context(), p.ByName("id"), in.StorageProviderID)
	if err != nil {
		return nil, err
	}
	return response{status: http.StatusAccepted, body: copyResponse{Status: "copying", BackupID: p.ByName("id"), Replica: rep}}, nil
}
