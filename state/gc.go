package state

import (
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// gcDiscardRatio is the share of stale data that makes a value-log file worth
// rewriting.
const gcDiscardRatio = 0.5

// gcLoop runs value-log GC every interval until Close.
func (s *Store) gcLoop(interval time.Duration) {
	defer close(s.gcDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stopGC:
			return
		case <-t.C:
			s.runGC()
		}
	}
}

// runGC rewrites value-log files until Badger finds none worth rewriting.
// It does not run below the free-space floor: a rewrite writes a new
// value-log file before it frees the old one.
func (s *Store) runGC() {
	if s.space.isLow() {
		s.log.Debug("value log gc skipped: data dir below its free-space floor")
		return
	}
	for rewrites := 0; ; rewrites++ {
		select {
		case <-s.stopGC:
			return
		default:
		}
		err := s.db.RunValueLogGC(gcDiscardRatio)
		if err == nil {
			continue
		}
		if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
			s.log.Warn("value log gc failed", "err", err)
		} else if rewrites > 0 {
			s.log.Debug("value log gc done", "rewrites", rewrites)
		}
		return
	}
}
