package engine

import (
	"context"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/state"
)

// acquireAsync starts an acquire and reports its result on the channel.
func acquireAsync(ctx context.Context, l *limiter) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- l.acquire(ctx) }()
	return ch
}

func waitWaiters(t *testing.T, l *limiter, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, w := l.inUse(); w == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiters never reached %d", n)
		}
		time.Sleep(time.Millisecond)
	}
}

// granted waits for an acquire that must have been granted by now: grants
// happen inside release and resize, so only the acquiring goroutine's
// report is still on its way.
func granted(t *testing.T, ch <-chan error) {
	t.Helper()
	select {
	case err := <-ch:
		if err != nil {
			t.Fatalf("acquire: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("acquire not granted")
	}
}

// queued checks the limiter's books: used slots and queued waiters. A waiter
// still queued has not been granted, and nothing but release, resize or its
// own cancellation can grant it.
func queued(t *testing.T, l *limiter, used, waiting int) {
	t.Helper()
	if u, w := l.inUse(); u != used || w != waiting {
		t.Fatalf("used %d, waiting %d; want %d, %d", u, w, used, waiting)
	}
}

func TestLimiter(t *testing.T) {
	ctx := context.Background()
	l := newLimiter(1)
	if err := l.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	second := acquireAsync(ctx, l)
	waitWaiters(t, l, 1)
	queued(t, l, 1, 1) // the second acquire waits beyond the limit

	// A waiter that gives up leaves the queue and takes no slot.
	cctx, cancel := context.WithCancel(ctx)
	third := acquireAsync(cctx, l)
	waitWaiters(t, l, 2)
	cancel()
	if err := <-third; err == nil {
		t.Fatal("cancelled acquire succeeded")
	}
	queued(t, l, 1, 1)

	// Growing the limit lets the waiter in at once.
	l.resize(2)
	queued(t, l, 2, 0)
	granted(t, second)
	// Shrinking keeps running jobs; new ones wait until used < max.
	l.resize(1)
	fourth := acquireAsync(ctx, l)
	waitWaiters(t, l, 1)
	l.release()
	queued(t, l, 1, 1) // 1 slot of a shrunk limit of 1 is still used
	l.release()
	queued(t, l, 1, 0)
	granted(t, fourth)
	l.release()
	queued(t, l, 0, 0)
}

// TestLimiterGrantRace: a waiter cancelled while being granted hands its
// slot on; no slot leaks however the race falls.
func TestLimiterGrantRace(t *testing.T) {
	l := newLimiter(1)
	for range 200 {
		if err := l.acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		ch := acquireAsync(ctx, l)
		waitWaiters(t, l, 1)
		go cancel()
		l.release()
		if err := <-ch; err == nil {
			l.release()
		}
		if used, w := l.inUse(); used != 0 || w != 0 {
			t.Fatalf("slot leaked: used %d waiting %d", used, w)
		}
	}
}

// waitLimit waits until the engine's concurrency limit is n.
func (h *harness) waitLimit(n int) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.eng.slots.mu.Lock()
		m := h.eng.slots.max
		h.eng.slots.mu.Unlock()
		if m == n {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("concurrent_backups %d never applied (limit %d)", n, m)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestBackupConcurrencyLimit: with concurrent_backups=1 a second backup stays
// queued while the first runs and runs after it; raising the setting to 2
// live lets a waiting backup start at once.
func TestBackupConcurrencyLimit(t *testing.T) {
	pg := dbtest.Postgres(t)
	h := newHarness(t)
	h.addLocalProvider("local")
	conn := h.addConnection("pg", pg, "")
	db := h.addDatabase(conn, bulkDB(t, pg, 1))
	g := newGate(t)
	h.setSetting("pg_dump_path", wrapTool(t, "pg_dump", g.body()))
	h.setSetting("concurrent_backups", "1")
	h.waitLimit(1)
	req := BackupRequest{ConnectionID: conn.ID, DatabaseID: db.ID}
	isRunning := func(b state.Backup) bool { return b.Status == state.StatusRunning }

	// pair starts two backups and returns them as (running, queued).
	pair := func() (state.Backup, state.Backup) {
		t.Helper()
		a, b := h.start(req), h.start(req)
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			ra, rb := h.backup(a.ID), h.backup(b.ID)
			if isRunning(ra) && rb.Status == state.StatusQueued {
				return ra, rb
			}
			if isRunning(rb) && ra.Status == state.StatusQueued {
				return rb, ra
			}
			if isRunning(ra) && isRunning(rb) {
				t.Fatal("both backups run with concurrent_backups=1")
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatal("no backup started")
		return a, b
	}

	first, second := pair()
	// The second waits in the limiter: nothing but the first's release can
	// let it run.
	waitWaiters(t, h.eng.slots, 1)
	if s := h.backup(second.ID); s.Status != state.StatusQueued || s.StartedAt != nil {
		t.Fatalf("second backup %s (started %v) while the first holds the only slot", s.Status, s.StartedAt)
	}
	g.open(t)
	f, s := h.waitBackup(first.ID, time.Minute), h.waitBackup(second.ID, time.Minute)
	if f.Status != state.StatusSuccess || s.Status != state.StatusSuccess {
		t.Fatalf("statuses %s/%s; logs:\n%s\n%s", f.Status, s.Status, f.LogOutput, s.LogOutput)
	}
	if s.StartedAt.Before(*f.CompletedAt) {
		t.Errorf("second started %s before the first completed %s", s.StartedAt, f.CompletedAt)
	}

	g.close(t)
	running, waiting := pair()
	h.setSetting("concurrent_backups", "2")
	h.waitStatus(waiting.ID, 10*time.Second, isRunning)
	if r := h.backup(running.ID); !isRunning(r) {
		t.Fatalf("first backup %s: the raised limit did not let the second run beside it", r.Status)
	}
	g.open(t)
	for _, id := range []string{running.ID, waiting.ID} {
		if b := h.waitBackup(id, time.Minute); b.Status != state.StatusSuccess {
			t.Errorf("backup %s: %s; log:\n%s", id, b.Status, b.LogOutput)
		}
	}
}
