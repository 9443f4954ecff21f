package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/state"
)

// Learner records, in cluster mode, the backups other members of the group
// stored: each Pass lists backups/ of every storage provider and records
// the backup of every manifest it has not seen yet and the store does not
// have, as `jagad catalog rebuild` does. It reads each manifest once.
type Learner struct {
	e    *Engine
	mu   sync.Mutex
	seen map[string]bool // manifest keys handled, per provider ID + key
}

// NewLearner returns a learner of the engine's providers.
func (e *Engine) NewLearner() *Learner {
	return &Learner{e: e, seen: map[string]bool{}}
}

// Pass runs one pass over every provider and returns the backups it
// recorded. A provider that fails is skipped (logged) and retried next pass.
func (l *Learner) Pass(ctx context.Context) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var provs []state.Provider
	if err := l.e.store.View(func(tx *state.Tx) error {
		var err error
		provs, err = state.List[state.Provider](tx)
		return err
	}); err != nil {
		return 0, fmt.Errorf("list providers: %w", err)
	}
	added := 0
	var errs []error
	for _, p := range provs {
		n, err := l.provider(ctx, p)
		added += n
		if err != nil {
			errs = append(errs, fmt.Errorf("storage %q: %w", p.Name, err))
		}
	}
	return added, errors.Join(errs...)
}

func (l *Learner) provider(ctx context.Context, p state.Provider) (int, error) {
	st, err := l.e.stores.open(p)
	if err != nil {
		return 0, err
	}
	listedAt := l.e.now()
	infos, err := st.List(ctx, backupsPrefix)
	if err != nil {
		return 0, fmt.Errorf("list: %w", err)
	}
	sizes := make(map[string]int64, len(infos))
	for _, in := range infos {
		sizes[in.Key] = in.Size
	}
	var learned []state.Backup
	for _, in := range infos {
		seenKey := p.ID + "\x00" + in.Key
		if !strings.HasSuffix(in.Key, objfmt.ManifestSuffix) || l.seen[seenKey] {
			continue
		}
		m, err := objfmt.ReadManifest(ctx, st, in.Key)
		if err == nil {
			err = checkListed(m, in.Key, sizes)
		}
		if err != nil {
			// A manifest being written or a broken one: logged once per pass,
			// looked at again next pass.
			l.e.log.Debug("cluster: manifest not learned", "storage", p.Name, "key", in.Key, "err", err)
			continue
		}
		l.seen[seenKey] = true
		learned = append(learned, BackupFromManifest(m, p.ID, l.e.now()))
	}
	if err := l.forgetDeleted(p, sizes, listedAt); err != nil {
		return 0, err
	}
	if len(learned) == 0 {
		return 0, nil
	}
	added := 0
	schedules := map[string]bool{}
	err = l.e.store.Update(func(tx *state.Tx) error {
		added = 0
		for _, b := range learned {
			if _, err := state.Get[state.Backup](tx, b.ID); err == nil {
				continue // made here, or learned before
			} else if !errors.Is(err, state.ErrNotFound) {
				return err
			}
			b.LogOutput = strings.Replace(b.LogOutput, "CATALOG: record rebuilt from", "CLUSTER: record learned from", 1)
			if err := state.Put(tx, b); err != nil {
				return fmt.Errorf("record backup %s: %w", b.ID, err)
			}
			added++
			if b.ScheduleID != "" {
				schedules[b.ScheduleID] = true
			}
		}
		return nil
	})
	if err != nil {
		for _, b := range learned {
			delete(l.seen, p.ID+"\x00"+b.StoragePath+objfmt.ManifestSuffix)
		}
		return 0, err
	}
	if added > 0 {
		l.e.log.Info("cluster: learned backups of other members from storage", "storage", p.Name, "backups", added)
		l.e.refreshScheduleGauges(schedules)
	}
	return added, nil
}

// refreshScheduleGauges sets the last-success and last-status gauges of
// the given schedules from the store (learned backups count as theirs).
func (e *Engine) refreshScheduleGauges(ids map[string]bool) {
	_ = e.store.View(func(tx *state.Tx) error {
		e.metrics.mu.Lock()
		defer e.metrics.mu.Unlock()
		for id := range ids {
			s, err := state.Get[state.Schedule](tx, id)
			if err != nil {
				continue
			}
			e.metrics.initSchedule(tx, s)
		}
		return nil
	})
}

// forgetDeleted drops the successful backup records of provider p whose
// object and manifest are both gone from the listing sizes, taken at
// listedAt: another member's retention (or a deletion through its API)
// removed them. A record completed after listedAt is left alone.
func (l *Learner) forgetDeleted(p state.Provider, sizes map[string]int64, listedAt time.Time) error {
	var gone []state.Backup
	err := l.e.store.View(func(tx *state.Tx) error {
		bs, err := tx.ListBackups(state.BackupQuery{Status: state.StatusSuccess})
		for _, b := range bs {
			if b.StorageProviderID != p.ID || b.StoragePath == "" || b.CompletedAt == nil || !b.CompletedAt.Before(listedAt) {
				continue
			}
			_, obj := sizes[b.StoragePath]
			_, man := sizes[b.StoragePath+objfmt.ManifestSuffix]
			if !obj && !man {
				gone = append(gone, b)
			}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("list backups: %w", err)
	}
	for _, b := range gone {
		l.e.log.Info("cluster: backup record dropped: its object and manifest were deleted from storage (by another member?)",
			"backup", b.ID, "storage", p.Name, "object", b.StoragePath)
		if err := l.e.deleteRecord(b); err != nil {
			return err
		}
		delete(l.seen, p.ID+"\x00"+b.StoragePath+objfmt.ManifestSuffix)
	}
	return nil
}
