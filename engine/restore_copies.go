package engine

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// Restores and downloads from any copy. A restore tries the backup's
// stored copies in order, the primary first: a copy whose provider is gone
// or unreachable, whose object is missing, or that fails pass 1 (size,
// checksums, every encrypted chunk) is skipped with a line in the job log,
// and the next one is tried; the log says which copy was restored from.
// Pass 2 never falls back: by then the target may have been touched.

// restoreSource is one stored copy a restore may read.
type restoreSource struct {
	replica  state.Replica
	provider state.Provider
}

// restoreSources lists b's stored copies whose provider exists, the
// primary first. None: 400.
func restoreSources(tx *state.Tx, b state.Backup) ([]restoreSource, error) {
	var out []restoreSource
	for _, r := range b.Copies() {
		if r.Status != state.ReplicaSuccess {
			continue
		}
		p, err := state.Get[state.Provider](tx, r.ProviderID)
		if errors.Is(err, state.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, restoreSource{replica: r, provider: p})
	}
	if len(out) == 0 {
		return nil, fault.Invalid("the storage provider of this backup no longer exists (no stored copy of it can be reached)")
	}
	return out, nil
}

func (s restoreSource) label() string {
	if s.replica.Primary {
		return s.provider.Name + " (primary)"
	}
	return s.provider.Name + " (copy)"
}

// secrets are what a restore's log must never show.
func (p restorePlan) secrets() []string {
	out := []string{p.conn.Password.Reveal(), p.provider.SecretKey.Reveal()}
	for _, s := range p.sources {
		out = append(out, s.provider.SecretKey.Reveal())
	}
	return out
}

// pickSource returns the store of the first copy that can be restored
// from (wrapped by wrap), after pass 1 when r.verifyFirst.
func (e *Engine) pickSource(ctx context.Context, p restorePlan, r *streamRestore, wrap func(storage.Store) storage.Store, log *jobLog) (storage.Store, error) {
	sources := p.sources
	if len(sources) == 0 { // a plan made with its provider alone (drills)
		sources = []restoreSource{{replica: state.Replica{ProviderID: p.provider.ID, Primary: true}, provider: p.provider}}
	}
	last := errors.New("no stored copy to restore from")
	for i, src := range sources {
		if i > 0 {
			log.Printf("RESTORE: trying the copy on %s", src.label())
		}
		st, err := e.stores.open(src.provider)
		if err != nil {
			log.Printf("STORAGE PROVIDER ERROR: %s: %v", src.provider.Name, err)
			last = err
			continue
		}
		st = wrap(st)
		r.st = st
		if r.verifyFirst {
			err = verifyPass(ctx, *r)
		} else if _, serr := st.Stat(ctx, r.spec.Key); serr != nil {
			err = fmt.Errorf("stored object: %w", serr)
			log.Printf("DOWNLOAD ERROR: %s: %v", src.provider.Name, err)
		}
		if err != nil {
			last = err
			if i+1 < len(sources) {
				log.Printf("RESTORE: the copy on %s cannot be used; falling back to the next copy", src.label())
			}
			continue
		}
		log.Printf("RESTORE: restoring from the copy on %s", src.label())
		return st, nil
	}
	return nil, last
}

// openCopy opens the first stored copy of b that can be read, the primary
// first, skipping a copy that is unreachable, missing, of the wrong size or
// marked failed by a verification. The stream is checked as it is read:
// a size or SHA-256 mismatch at its end is a read error, so a download
// never ends cleanly on corrupt bytes.
func (e *Engine) openCopy(ctx context.Context, b state.Backup) (io.ReadCloser, int64, error) {
	var sources []restoreSource
	err := e.store.View(func(tx *state.Tx) (err error) {
		sources, err = restoreSources(tx, b)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	var last error
	for _, src := range sources {
		st, err := e.stores.open(src.provider)
		if err != nil {
			last = err
			continue
		}
		key := src.replica.StoragePath
		if key == "" {
			key = b.StoragePath
		}
		info, err := st.Stat(ctx, key)
		if err == nil && info.Size != b.StoredSizeBytes {
			err = fmt.Errorf("%s is %d bytes, %d recorded", key, info.Size, b.StoredSizeBytes)
		}
		var rc io.ReadCloser
		if err == nil {
			rc, err = st.Get(ctx, key)
		}
		if err != nil {
			e.log.Warn("download: copy unusable, trying the next", "backup", b.ID, "provider", src.provider.Name, "err", err)
			last = err
			continue
		}
		e.log.Info("download", "backup", b.ID, "provider", src.provider.Name, "primary", src.replica.Primary)
		ck := &checkedReader{r: rc, h: sha256.New(), size: b.StoredSizeBytes, sum: b.EncryptedChecksum}
		return readCloser{Reader: ck, Closer: rc}, b.StoredSizeBytes, nil
	}
	if errors.Is(last, storage.ErrNotFound) {
		return nil, 0, fault.NotFound("backup object is missing from storage: " + b.StoragePath)
	}
	return nil, 0, last
}
