package engine

import (
	"context"

	"github.com/jagad/jagad/api/apierr"
	"github.com/jagad/jagad/state"
)

// RestoreRequest asks for a restore of a backup.
type RestoreRequest struct {
	TargetConnection string
	TargetDatabase   string
	DropExisting     bool
}

// Verify starts a verification (deep when a key is available).
func (e *Engine) Verify(ctx context.Context, id string) error {
	return apierr.Unavailable("verification is not available yet")
}

// verifyNow verifies a backup synchronously.
func (e *Engine) verifyNow(ctx context.Context, id string, deep bool) {}

// Restore starts a restore.
func (e *Engine) Restore(ctx context.Context, backupID string, req RestoreRequest) (state.Restore, error) {
	return state.Restore{}, apierr.Unavailable("restore is not available yet")
}

// maybeDrill runs a schedule's restore drill when it is due.
func (e *Engine) maybeDrill(ctx context.Context, sch state.Schedule, b state.Backup) {}
