package web

import (
	"sync"
	"time"

	"github.com/jagad/jagad/state"
)

// rateCache keeps the overview's 7- and 30-day success rates. Computing them
// reads every backup of the last 30 days (about 200 ms at 10,000 backups),
// so they are recomputed only after a commit touched backups (the store's
// change feed, read without a goroutine: its one-slot channel coalesces).
// When the last computation was expensive (over rateCheap), at most every
// rateMaxAge; between those, the page shows the cached numbers with their
// age. A cheap one is redone at every change, so a small installation never
// shows rates that miss the backup that just finished.
type rateCache struct {
	mu      sync.Mutex
	changes <-chan struct{}
	rates   []rate
	at      time.Time
	took    time.Duration // how long the last computation took
	dirty   bool
}

// rateMaxAge bounds how stale the rates may get while backups change.
const rateMaxAge = 30 * time.Second

// rateCheap is a computation short enough to redo at every change.
const rateCheap = 20 * time.Millisecond

func newRateCache(st *state.Store) *rateCache {
	// The subscription lives as long as the dashboard (the daemon's life).
	ch, _ := st.Subscribe(state.KindBackup)
	return &rateCache{changes: ch, dirty: true}
}

// get returns the rates, recomputing them when they are due.
func (c *rateCache) get(st *state.Store, now time.Time) ([]rate, time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.changes:
		c.dirty = true
	default:
	}
	if c.rates != nil && (!c.dirty || (c.took > rateCheap && now.Sub(c.at) < rateMaxAge)) {
		return c.rates, c.at, nil
	}
	start := time.Now()
	var rs []rate
	err := st.View(func(tx *state.Tx) (err error) {
		rs, err = successRates(tx, now)
		return err
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	c.rates, c.at, c.took, c.dirty = rs, now, time.Since(start), false
	return rs, now, nil
}
