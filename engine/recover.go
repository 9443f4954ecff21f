package engine

import (
	"context"
	"time"

	"github.com/jagad/jagad/state"
)

// recoverInterrupted marks jobs that a crash interrupted as failed and
// removes what they may have left in storage: their object, if the upload
// completed before the crash, and incomplete uploads under backups/.
func (e *Engine) recoverInterrupted(ctx context.Context) error {
	var stale []state.Backup
	var restores []state.Restore
	err := e.store.View(func(tx *state.Tx) error {
		all, err := tx.ListBackups(state.BackupQuery{})
		if err != nil {
			return err
		}
		for _, b := range all {
			if b.Status == state.StatusQueued || b.Status == state.StatusRunning || b.VerifyStatus == state.VerifyVerifying {
				stale = append(stale, b)
			}
		}
		rs, err := state.List[state.Restore](tx)
		for _, r := range rs {
			if r.Status == state.StatusRunning {
				restores = append(restores, r)
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	now := e.now().UTC()
	providers := map[string]bool{}
	for _, b := range stale {
		if b.Status == state.StatusQueued || b.Status == state.StatusRunning {
			e.removeObject(b)
			b.Status = state.StatusFailed
			b.CompletedAt = &now
			b.LogOutput += "RECOVERY: the daemon stopped while this backup was " + "in progress; marked failed at start-up and its partial object removed\n"
			providers[b.StorageProviderID] = true
			e.log.Warn("backup interrupted by a crash marked failed", "backup", b.ID, "schedule", b.ScheduleName)
		} else {
			b.VerifyStatus = state.VerifyFailed
			b.LogOutput += "RECOVERY: the daemon stopped during verification; verification marked failed (the backup itself is unchanged)\n"
		}
		if err := e.store.Update(func(tx *state.Tx) error { return state.Put(tx, b) }); err != nil {
			return err
		}
	}
	for _, r := range restores {
		r.Status = state.StatusFailed
		r.CompletedAt = &now
		r.LogOutput += "RECOVERY: the daemon stopped during this restore; marked failed at start-up\n"
		if err := e.store.Update(func(tx *state.Tx) error { return state.Put(tx, r) }); err != nil {
			return err
		}
	}
	e.cleanupProviders(ctx, providers)
	return nil
}

// cleanupProviders removes incomplete uploads under backups/ of providers.
func (e *Engine) cleanupProviders(ctx context.Context, ids map[string]bool) {
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	_ = e.store.View(func(tx *state.Tx) error {
		for id := range ids {
			p, err := state.Get[state.Provider](tx, id)
			if err != nil {
				continue
			}
			st, err := e.stores.open(p)
			if err != nil {
				continue
			}
			if err := st.Cleanup(ctx, "backups/"); err != nil {
				e.log.Warn("clean up incomplete uploads", "provider", p.Name, "err", err)
			}
		}
		return nil
	})
}
