package engine

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jagad/jagad/engine/notify"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// getBackup reads a backup record; 404 when missing.
func (e *Engine) getBackup(id string) (state.Backup, error) {
	var b state.Backup
	err := e.store.View(func(tx *state.Tx) error {
		var err error
		b, err = state.Get[state.Backup](tx, id)
		return err
	})
	if errors.Is(err, state.ErrNotFound) {
		return b, fault.NotFound("backup not found")
	}
	return b, err
}

// storeOf opens the storage provider a backup was written to.
func (e *Engine) storeOf(b state.Backup) (storage.Store, error) {
	var p state.Provider
	err := e.store.View(func(tx *state.Tx) error {
		var err error
		p, err = state.Get[state.Provider](tx, b.StorageProviderID)
		return err
	})
	if errors.Is(err, state.ErrNotFound) {
		return nil, fault.Invalid("the storage provider of this backup no longer exists")
	}
	if err != nil {
		return nil, err
	}
	return e.stores.open(p)
}

// DeleteBackup removes a backup's object and manifest, then its record.
func (e *Engine) DeleteBackup(ctx context.Context, id string) error {
	b, err := e.getBackup(id)
	if err != nil {
		return err
	}
	switch b.Status {
	case state.StatusQueued, state.StatusRunning:
		return fault.Conflict("backup is " + b.Status + "; wait for it to finish")
	}
	if b.VerifyStatus == state.VerifyVerifying {
		return fault.Conflict("backup is being verified; wait for it to finish")
	}
	if err := e.deleteBackup(context.WithoutCancel(ctx), b, true); err != nil {
		if errors.Is(err, storage.ErrLocked) { // object lock: kept until its date, not a server fault
			return fault.Wrap(fault.CodeConflict, fmt.Sprintf("backup %s cannot be deleted yet: %v", id, err), err)
		}
		return fmt.Errorf("delete backup %s: %w", id, err)
	}
	e.log.Info("backup deleted", "backup", id, "schedule", b.ScheduleName)
	return nil
}

// OpenBackup streams the stored object of a successful backup.
func (e *Engine) OpenBackup(ctx context.Context, id string) (io.ReadCloser, int64, error) {
	b, err := e.getBackup(id)
	if err != nil {
		return nil, 0, err
	}
	if b.Status != state.StatusSuccess {
		return nil, 0, fault.Invalid("cannot download backup with status: " + b.Status)
	}
	return e.openCopy(ctx, b)
}

// TestStorage proves a provider is writable: put, read back, delete a probe.
func (e *Engine) TestStorage(ctx context.Context, providerID string) error {
	var p state.Provider
	err := e.store.View(func(tx *state.Tx) error {
		var err error
		p, err = state.Get[state.Provider](tx, providerID)
		return err
	})
	if errors.Is(err, state.ErrNotFound) {
		return fault.NotFound("provider not found")
	}
	if err != nil {
		return err
	}
	st, err := e.stores.open(p)
	if err != nil {
		return err
	}
	return storage.Probe(ctx, st)
}

// TestNotification really sends a test message and returns the outcome.
func (e *Engine) TestNotification(ctx context.Context, notifID string) error {
	var n state.Notification
	err := e.store.View(func(tx *state.Tx) error {
		var err error
		n, err = state.Get[state.Notification](tx, notifID)
		return err
	})
	if errors.Is(err, state.ErrNotFound) {
		return fault.NotFound("notification not found")
	}
	if err != nil {
		return err
	}
	return e.send(ctx, n, notify.TestEvent())
}
