package web

import (
	"bytes"
	"testing"
	"time"

	"github.com/jagad/jagad/state"
)

// TestRatesFollowAFinishedBackup: on a small store the rates are cheap to
// compute, so a backup that finishes right after a page was rendered shows
// at the next render, not 30 s later (the overview used to say "no backups
// finished" next to a successful backup).
func TestRatesFollowAFinishedBackup(t *testing.T) {
	st, err := state.Open(state.Options{Dir: t.TempDir(), MasterKey: bytes.Repeat([]byte{3}, 32), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	c := newRateCache(st)
	now := time.Now().UTC()
	rs, _, err := c.get(st, now)
	if err != nil || rs[0].Total != 0 {
		t.Fatalf("empty store: %+v, %v", rs, err)
	}
	b := state.Backup{ID: state.NewID(state.KindBackup), CreatedAt: now, DBType: "postgresql",
		BackupType: "full", Status: state.StatusSuccess, DatabaseName: "app"}
	if err := st.Update(func(tx *state.Tx) error { return state.Put(tx, b) }); err != nil {
		t.Fatal(err)
	}
	waitDirty(t, c)
	rs, _, err = c.get(st, now.Add(time.Second))
	if err != nil || rs[0].Total != 1 || rs[0].Success != 1 {
		t.Fatalf("a second after a success: %+v, %v; want 1 of 1", rs[0], err)
	}
}

// waitDirty waits until the store's change feed has told c about a commit
// (the feed delivers after the commit returns).
func waitDirty(t *testing.T, c *rateCache) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		select {
		case <-c.changes:
			c.dirty = true
		default:
		}
		dirty := c.dirty
		c.mu.Unlock()
		if dirty {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the change feed never reported the commit")
}
