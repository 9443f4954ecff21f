package web

import (
	"sync"
	"time"

	"github.com/jagad/jagad/state"
)

// rateCache keeps the overview's 7- and 30-day success rates. Computing them
// reads every backup of the last 30 days (about 200 ms at 10,000 backups),
// so they are recomputed only after a commit touched backups (the store's
// change feed, read without a goroutine: its one-slot channel coalesces)
// and at most every rateMaxAge; between those, the page shows the cached
// numbers with their age.
type rateCache struct {
	mu      sync.Mutex
	changes <-chan struct{}
	rates   []rate
	at      time.Time
	dirty   bool
}

// rateMaxAge bounds how stale the rates may get while backups change.
const rateMaxAge = 30 * time.Second

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
	if c.rates != nil && (!c.dirty || now.Sub(c.at) < rateMaxAge) {
		return c.rates, c.at, nil
	}
	var rs []rate
	err := st.View(func(tx *state.Tx) (err error) {
		rs, err = successRates(tx, now)
		return err
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	c.rates, c.at, c.dirty = rs, now, false
	return rs, now, nil
}
