package engine

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// Repair and backfill. A copy that failed (at upload, or at a verification
// that found it missing or corrupt) is retried in the background from a
// healthy copy of the same backup: streamed from the source store into the
// destination and checked against the backup's encrypted_checksum and
// stored size on the way (a mismatch removes what was written), then its
// manifest is written beside it. A backfill (POST /api/backups/{id}/copies)
// copies an existing backup to a new destination the same way.
//
// Server-side copy: storage.Copy copies without the bytes passing through
// Jagad when both stores are S3 on one endpoint, and streams otherwise.

// RepairEvery is how often failed copies are retried by default.
const RepairEvery = 15 * time.Minute

// repairLoop retries failed copies every interval until the engine stops.
func (e *Engine) repairLoop(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
			e.RepairCopies(e.ctx)
		}
	}
}

// RepairCopies retries every failed copy of every successful backup once,
// from a healthy copy; it returns how many copies were repaired and how
// many are still failed. One pass at a time, and never during retention.
func (e *Engine) RepairCopies(ctx context.Context) (repaired, failed int) {
	e.retMu.Lock()
	defer e.retMu.Unlock()
	var todo []state.Backup
	err := e.store.View(func(tx *state.Tx) error {
		all, err := tx.ListBackups(state.BackupQuery{Status: state.StatusSuccess})
		for _, b := range all {
			for _, r := range b.Replicas {
				if r.Status == state.ReplicaFailed {
					todo = append(todo, b)
					break
				}
			}
		}
		return err
	})
	if err != nil {
		e.log.Error("repair: list backups", "err", err)
		return 0, 0
	}
	for _, b := range todo {
		for _, r := range b.Replicas {
			if r.Status != state.ReplicaFailed || ctx.Err() != nil {
				continue
			}
			if err := e.copyReplica(ctx, b.ID, r.ProviderID, "repair"); err != nil {
				if !errors.Is(err, errNoDestination) {
					failed++
				}
				continue
			}
			repaired++
		}
	}
	if len(todo) > 0 {
		e.refreshCopies()
		e.refreshStorageBytes()
	}
	return repaired, failed
}

// CopyBackup copies an existing successful backup to another storage
// provider (a backfill) in the background; the copy shows as a pending
// replica until it is stored. 404: no such backup or provider; 400: the
// backup did not succeed; 409: a copy is already stored or pending there.
func (e *Engine) CopyBackup(_ context.Context, backupID, providerID string) (state.Replica, error) {
	var rep state.Replica
	err := e.store.Update(func(tx *state.Tx) error {
		b, err := state.Get[state.Backup](tx, backupID)
		if errors.Is(err, state.ErrNotFound) {
			return fault.NotFound("backup not found")
		}
		if err != nil {
			return err
		}
		if b.Status != state.StatusSuccess {
			return fault.Invalid("cannot copy backup with status: " + b.Status)
		}
		p, err := state.Get[state.Provider](tx, providerID)
		if errors.Is(err, state.ErrNotFound) {
			return fault.NotFound("storage provider not found")
		}
		if err != nil {
			return err
		}
		if r, ok := b.Replica(p.ID); ok && r.Status != state.ReplicaFailed {
			return fault.Conflict(fmt.Sprintf("backup %s already has a %s copy on %q", b.ID, r.Status, p.Name))
		}
		if !hasHealthy(b) {
			return fault.Invalid("backup " + b.ID + " has no stored copy to copy from")
		}
		rep = state.Replica{ProviderID: p.ID, ProviderName: p.Name, StoragePath: b.StoragePath,
			Status: state.ReplicaPending, Retention: b.Retention}
		b.SetReplica(rep)
		return state.Put(tx, b)
	})
	if err != nil {
		return rep, err
	}
	e.log.Info("backfill started", "backup", backupID, "provider", rep.ProviderName)
	e.goJob(func(ctx context.Context) {
		e.retMu.Lock()
		defer e.retMu.Unlock()
		_ = e.copyReplica(ctx, backupID, providerID, "backfill")
		e.refreshCopies()
		e.refreshStorageBytes()
	})
	return rep, nil
}

func hasHealthy(b state.Backup) bool {
	for _, r := range b.Copies() {
		if r.Status == state.ReplicaSuccess {
			return true
		}
	}
	return false
}

// copyReplica stores backup id's object on provider dstID from a healthy
// copy and records the outcome on the replica (and a line in the log).
func (e *Engine) copyReplica(ctx context.Context, id, dstID, why string) error {
	b, err := e.getBackup(id)
	if err != nil {
		return err
	}
	src, dst, err := e.copyStores(b, dstID)
	log := newJobLog(e.now, src.secret, dst.secret)
	if errors.Is(err, errNoDestination) {
		return errors.Join(err, e.forgetReplica(id, dstID))
	}
	checked := false
	if err == nil {
		log.Printf("COPY (%s): %s from %s to %s", why, b.StoragePath, src.name, dst.name)
		checked, err = e.transfer(ctx, b, src, dst)
	}
	ok := err == nil
	msg := ""
	switch {
	case err != nil:
		msg = log.scrub(err.Error())
		log.Printf("COPY FAILED (%s): %s", why, msg)
	case checked:
		log.Printf("COPY: %d bytes stored on %s, sha256 %s MATCH", b.StoredSizeBytes, dst.name, b.EncryptedChecksum)
	default:
		log.Printf("COPY: %d bytes stored on %s, size MATCH; its sha256 was not compared (a server-side copy of an "+
			"object whose SHA-256 the service does not report, as for multipart uploads): its next verification reads it",
			b.StoredSizeBytes, dst.name)
	}
	e.metrics.copies.upload(dst.name, ok)
	now := e.now().UTC()
	uerr := e.store.Update(func(tx *state.Tx) error {
		cur, err := state.Get[state.Backup](tx, id)
		if err != nil {
			return err
		}
		r, _ := cur.Replica(dstID)
		r.ProviderID, r.StoragePath, r.Attempts = dstID, cur.StoragePath, r.Attempts+1
		if dst.name != "" {
			r.ProviderName = dst.name
		}
		if ok {
			r.Status, r.Error, r.SizeBytes, r.EncryptedChecksum, r.UploadedAt = state.ReplicaSuccess, "", cur.StoredSizeBytes, cur.EncryptedChecksum, &now
			r.VerifyStatus, r.VerifiedAt = state.VerifyPassed, &now // checked on the way in
			if !checked {
				r.VerifyStatus, r.VerifiedAt = state.VerifyPending, nil // its size only
			}
		} else {
			r.Status, r.Error = state.ReplicaFailed, msg
		}
		cur.SetReplica(r)
		cur.LogOutput = appendLog(cur.LogOutput, log.String())
		return state.Put(tx, cur)
	})
	if uerr != nil {
		e.log.Error("record copy", "backup", id, "err", uerr)
	}
	if err != nil {
		e.log.Warn("copy failed", "backup", id, "provider", dst.name, "why", why, "err", msg)
		return err
	}
	e.log.Info("copy stored", "backup", id, "provider", dst.name, "why", why)
	return nil
}

// errNoDestination: the provider of a copy to make no longer exists.
var errNoDestination = errors.New("the destination storage provider no longer exists")

// forgetReplica drops a copy that cannot be made any more (its provider
// is gone) from its backup: there is nothing left to repair.
func (e *Engine) forgetReplica(id, providerID string) error {
	err := e.store.Update(func(tx *state.Tx) error {
		b, err := state.Get[state.Backup](tx, id)
		if err != nil {
			return err
		}
		if r, ok := b.Replica(providerID); !ok || r.Status == state.ReplicaSuccess {
			return nil
		}
		b.RemoveReplica(providerID)
		return state.Put(tx, b)
	})
	if err == nil {
		e.log.Info("copy dropped: its storage provider no longer exists", "backup", id, "provider_id", providerID)
	}
	return err
}

// namedStore is an open store and its provider's name.
type namedStore struct {
	name   string
	store  storage.Store
	secret string // its provider's secret key, scrubbed from messages
}

// copyStores opens the destination and the first healthy copy other than
// it (the primary first).
func (e *Engine) copyStores(b state.Backup, dstID string) (src, dst namedStore, err error) {
	var provs map[string]state.Provider
	err = e.store.View(func(tx *state.Tx) error {
		all, err := state.List[state.Provider](tx)
		provs = map[string]state.Provider{}
		for _, p := range all {
			provs[p.ID] = p
		}
		return err
	})
	if err != nil {
		return src, dst, err
	}
	p, ok := provs[dstID]
	if !ok {
		return src, dst, errNoDestination
	}
	dst.name, dst.secret = p.Name, p.SecretKey.Reveal()
	if dst.store, err = e.stores.open(p); err != nil {
		return src, dst, fmt.Errorf("open %s: %w", p.Name, err)
	}
	for _, r := range b.Copies() {
		sp, ok := provs[r.ProviderID]
		if r.ProviderID == dstID || r.Status != state.ReplicaSuccess || !ok {
			continue
		}
		st, err := e.stores.open(sp)
		if err != nil {
			continue
		}
		return namedStore{sp.Name, st, sp.SecretKey.Reveal()}, dst, nil
	}
	return src, dst, errors.New("no healthy copy to copy from")
}

// transfer copies b's object from src to dst, checked against the
// recorded size and encrypted checksum, then writes its manifest.
// storage.Copy copies server-side when both stores are S3 on one endpoint
// (checked afterwards by size, and by SHA-256 where the service reports
// it), else streams and hashes on the way: a mismatch leaves nothing on dst.
// checked says the copy's SHA-256 was compared with encrypted_checksum:
// false for a server-side copy of an object whose SHA-256 the service does
// not report (a multipart upload's), whose size alone was checked.
func (e *Engine) transfer(ctx context.Context, b state.Backup, src, dst namedStore) (checked bool, err error) {
	res, err := storage.Copy(ctx, src.store, b.StoragePath, dst.store, b.StoragePath,
		storage.Expect{Size: b.StoredSizeBytes, SHA256: b.EncryptedChecksum})
	if err != nil {
		if errors.Is(err, storage.ErrChecksum) {
			err = fmt.Errorf("%w: %w", objfmt.ErrIntegrity, err)
		}
		return false, fmt.Errorf("copy from %s to %s: %w", src.name, dst.name, err)
	}
	e.log.Info("copy transferred", "backup", b.ID, "from", src.name, "to", dst.name,
		"method", res.Method, "bytes", res.Size, "sha256_checked", res.Verified)
	return res.Verified, e.writeManifest(ctx, dst.store, b)
}

// checkedReader passes a stored object through and, before it reports
// io.EOF, checks its size and SHA-256: a mismatch is a read error, so the
// destination's Put fails and keeps nothing.
type checkedReader struct {
	r io.Reader
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
	n    int64
	size int64
	sum  string
	ok   bool
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.h.Write(p[:n])
	if c.n > c.size {
		return n, fmt.Errorf("%w: source is longer than the recorded %d bytes", objfmt.ErrIntegrity, c.size)
	}
	if err == io.EOF {
		got := hex.EncodeToString(c.h.Sum(nil))
		if c.n != c.size {
			return n, fmt.Errorf("%w: source has %d bytes, %d recorded", objfmt.ErrIntegrity, c.n, c.size)
		}
		if c.sum != "" && got != c.sum {
			return n, fmt.Errorf("%w: source sha256 %s, encrypted_checksum %s", objfmt.ErrIntegrity, got, c.sum)
		}
		c.ok = true
	}
	return n, err
}

// failInterruptedCopies marks failed the copies a stop interrupted (left
// pending on a successful backup by a backfill or repair), so that repair
// retries them. Called at start, before any copy can run.
func (e *Engine) failInterruptedCopies() error {
	var stale []state.Backup
	err := e.store.View(func(tx *state.Tx) error {
		all, err := tx.ListBackups(state.BackupQuery{Status: state.StatusSuccess})
		for _, b := range all {
			for _, r := range b.Replicas {
				if r.Status == state.ReplicaPending {
					stale = append(stale, b)
					break
				}
			}
		}
		return err
	})
	if err != nil || len(stale) == 0 {
		return err
	}
	return e.store.Update(func(tx *state.Tx) error {
		for _, b := range stale {
			for i := range b.Replicas {
				if r := &b.Replicas[i]; r.Status == state.ReplicaPending {
					r.Status, r.Error = state.ReplicaFailed, "the daemon stopped while this copy was being made; repair retries it"
				}
			}
			if err := state.Put(tx, b); err != nil {
				return err
			}
		}
		return nil
	})
}
