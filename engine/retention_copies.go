package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/retention"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

// Retention per destination. Each storage provider holding copies of a
// schedule's backups applies its own policy to the copies it holds:
// the primary the schedule's policy, a copies_to destination its own
// (CopyTarget) or, when it sets none, the schedule's. The safety floors of
// engine/retention hold per destination: the newest successful copy on a
// destination is never deleted there. Deleting a copy removes its replica
// from the record; the record goes with its last stored copy.

// errCopyLocked means a delete was refused because the object is under an
// object lock (retained until a date): not a failure, retried later.
var errCopyLocked = errors.New("object is locked")

// isLocked reports whether a storage error is an object-lock refusal.
func isLocked(err error) bool { return errors.Is(err, storage.ErrLocked) }

// policyFunc returns the policy of destination providerID for backups
// (false: none known, keep everything there).
type policyFunc func(providerID string, backups []state.Backup) (state.RetentionPolicy, bool)

// schedulePolicies are the policies of a live schedule's destinations: its
// own on its primary, each copy target's on its destination; a destination
// it no longer names (copies_to changed, a backfill) keeps the policy its
// copies recorded, else the schedule's.
func schedulePolicies(sch state.Schedule) policyFunc {
	return func(id string, backups []state.Backup) (state.RetentionPolicy, bool) {
		if i := slices.IndexFunc(sch.CopiesTo, func(c state.CopyTarget) bool { return c.StorageProviderID == id }); i >= 0 {
			return sch.CopyRetention(sch.CopiesTo[i]), true
		}
		if id != sch.StorageProviderID && !primaryIn(id, backups) {
			if p, ok := recordedPolicy(id, backups); ok {
				return p, true
			}
		}
		return sch.Retention(), true
	}
}

// primaryIn reports whether provider id holds the primary copy of one of
// backups (a schedule without storage writes to the default provider).
func primaryIn(id string, backups []state.Backup) bool {
	for _, b := range backups {
		for _, r := range retentionCopies(b) {
			if r.ProviderID == id && r.Primary {
				return true
			}
		}
	}
	return false
}

// recordedPolicies are the policies of a removed schedule's destinations:
// what its newest copy on each recorded, else the group's.
func recordedPolicies(group state.RetentionPolicy) policyFunc {
	return func(id string, backups []state.Backup) (state.RetentionPolicy, bool) {
		if p, ok := recordedPolicy(id, backups); ok {
			return p, true
		}
		return group, true
	}
}

// recordedPolicy is the policy the newest copy on provider id recorded.
func recordedPolicy(id string, backups []state.Backup) (state.RetentionPolicy, bool) {
	for _, b := range backups { // newest first
		for _, r := range retentionCopies(b) {
			if r.ProviderID == id && r.Retention != nil {
				return *r.Retention, true
			}
		}
	}
	return state.RetentionPolicy{}, false
}

// retentionCopies are b's copies as retention sees them: a record without
// any provider (an interrupted or imported one) is one copy nowhere, so
// that its record can still go.
func retentionCopies(b state.Backup) []state.Replica {
	if c := b.Copies(); len(c) > 0 {
		return c
	}
	status := state.ReplicaPending
	if b.Status == state.StatusSuccess {
		status = state.ReplicaSuccess
	}
	return []state.Replica{{Primary: true, Status: status, Retention: b.Retention}}
}

// destinationsOf lists the providers holding or receiving copies of
// backups, in first-seen order.
func destinationsOf(backups []state.Backup) []string {
	var out []string
	seen := map[string]bool{}
	for _, b := range backups {
		for _, r := range retentionCopies(b) {
			if !seen[r.ProviderID] {
				seen[r.ProviderID] = true
				out = append(out, r.ProviderID)
			}
		}
	}
	return out
}

// destinationInput is what the policy sees on one destination: every
// backup with a stored or incoming copy there. A stored copy has its
// backup's status (verifying included); a pending one is running. Failed
// copies are not there: nothing to keep or delete.
func destinationInput(id string, backups []state.Backup) []retention.Backup {
	var in []retention.Backup
	for _, b := range backups {
		for _, r := range retentionCopies(b) {
			if r.ProviderID != id || r.Status == state.ReplicaFailed {
				continue
			}
			status := retentionStatus(b)
			if r.Status == state.ReplicaPending && b.Status == state.StatusSuccess {
				status = retention.StatusRunning
			}
			in = append(in, retention.Backup{ID: b.ID, ScheduleID: b.ScheduleID, Type: b.BackupType,
				Status: status, CreatedAt: b.CreatedAt, ParentID: b.ParentID})
		}
	}
	return in
}

// deleteReplica deletes backup id's copy on provider dest (object, then
// manifest), then drops the replica from the record, and the record when
// no stored copy is left. errCopyLocked: the object is locked; nothing
// changed.
func (e *Engine) deleteReplica(ctx context.Context, id, dest string) error {
	if err := e.store.Writable(); err != nil {
		return fmt.Errorf("backup %s kept: %w", id, err)
	}
	b, err := e.getBackup(id)
	if err != nil {
		return err
	}
	for _, r := range retentionCopies(b) {
		if r.ProviderID != dest {
			continue
		}
		if err := e.deleteObjects(ctx, b, r); err != nil {
			return err
		}
	}
	err = e.store.Update(func(tx *state.Tx) error {
		cur, err := state.Get[state.Backup](tx, id)
		if err != nil {
			return err
		}
		if dest == "" || !cur.RemoveReplica(dest) {
			return state.Delete[state.Backup](tx, id)
		}
		return state.Put(tx, cur)
	})
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		return fmt.Errorf("update record: %w", err)
	}
	e.refreshStorageBytes()
	return nil
}

// deleteObjects deletes the object and manifest of copy r of b. A missing
// provider is state.ErrNotFound (wrapped); a lock refusal errCopyLocked.
func (e *Engine) deleteObjects(ctx context.Context, b state.Backup, r state.Replica) error {
	if r.ProviderID == "" || (r.StoragePath == "" && b.StoragePath == "") {
		return nil
	}
	key := r.StoragePath
	if key == "" {
		key = b.StoragePath
	}
	var p state.Provider
	err := e.store.View(func(tx *state.Tx) error {
		var err error
		p, err = state.Get[state.Provider](tx, r.ProviderID)
		return err
	})
	if err != nil {
		return fmt.Errorf("storage provider of backup %s: %w", b.ID, err)
	}
	st, err := e.stores.open(p)
	if err != nil {
		return fmt.Errorf("open storage provider %q: %w", p.Name, err)
	}
	for _, k := range []string{key, key + objfmt.ManifestSuffix} {
		if err := st.Delete(ctx, k); err != nil {
			if isLocked(err) {
				return fmt.Errorf("delete %s on %s: %w: %w", k, p.Name, errCopyLocked, err)
			}
			return fmt.Errorf("delete %s on %s: %w", k, p.Name, err)
		}
	}
	return nil
}

// providerName names a provider for log lines ("" : the record only).
func (e *Engine) providerName(id string) string {
	if id == "" {
		return "(none)"
	}
	var name string
	_ = e.store.View(func(tx *state.Tx) error {
		p, err := state.Get[state.Provider](tx, id)
		name = p.Name
		return err
	})
	if name == "" {
		return id
	}
	return name
}
