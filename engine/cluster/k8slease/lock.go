package k8slease

import (
	"context"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	rl "k8s.io/client-go/tools/leaderelection/resourcelock"
)

// term is what this candidate knows for sure about its hold on the Lease,
// kept by watchedLock from the calls client-go's elector makes. It is
// shared by the successive electors of one Elector.
//
// The rule that makes the gate safe: a write of the Lease naming this
// candidate that started at s and succeeded lets the gate stay open until
// s + RenewDeadline. Any other candidate saw that write after s, and takes
// the Lease over no sooner than LeaseDuration after it saw the last change,
// so after s + LeaseDuration > s + RenewDeadline (LeaseDuration must exceed
// RenewDeadline by more than the clocks drift apart over LeaseDuration).
type term struct {
	mu sync.Mutex
	// validUntil: the gate may be open before it, never after (a close
	// brings it back to now).
	validUntil time.Time
	// openFrom: the gate may be open from it (a created Lease waits out a
	// holder of a deleted one: see Create).
	openFrom time.Time
	// lastOK is when the last call to the API server succeeded (readiness).
	lastOK time.Time
	// lastErr is the last call's error (nil when it succeeded).
	lastErr error
}

func (t *term) open(now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return now.Before(t.validUntil) && !now.Before(t.openFrom)
}

func (t *term) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now := time.Now(); t.validUntil.After(now) {
		t.validUntil = now
	}
}

func (t *term) result(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lastErr = err
	if err == nil {
		t.lastOK = time.Now()
	}
}

// watchedLock wraps the LeaseLock client-go's elector uses, to learn what
// the API server acknowledged and when the write began.
type watchedLock struct {
	rl.Interface
	t             *term
	renewDeadline time.Duration
}

// Get reads the Lease. A Lease held by another candidate, or gone, closes
// the gate at once.
func (l *watchedLock) Get(ctx context.Context) (*rl.LeaderElectionRecord, []byte, error) {
	rec, raw, err := l.Interface.Get(ctx)
	switch {
	case apierrors.IsNotFound(err):
		l.t.result(nil)
		l.t.close()
	case err != nil:
		l.t.result(err)
	default:
		l.t.result(nil)
		if rec.HolderIdentity != l.Identity() {
			l.t.close()
		}
	}
	return rec, raw, err
}

// Create makes the Lease. There was none: it was deleted, perhaps while
// another candidate held it and still counted on its last renewal. The gate
// therefore stays closed for RenewDeadline after the creation began, when
// such a holder has given up.
func (l *watchedLock) Create(ctx context.Context, ler rl.LeaderElectionRecord) error {
	start := time.Now()
	err := l.Interface.Create(ctx, ler)
	l.t.result(ignoreConflict(err))
	if err == nil && ler.HolderIdentity == l.Identity() {
		l.t.mu.Lock()
		l.t.openFrom = start.Add(l.renewDeadline)
		l.t.validUntil = start.Add(l.renewDeadline)
		l.t.mu.Unlock()
	}
	return err
}

// Update writes the Lease: a renewal or takeover naming this candidate
// extends the gate to RenewDeadline after the write began; a release (no
// holder) closes it before the write.
func (l *watchedLock) Update(ctx context.Context, ler rl.LeaderElectionRecord) error {
	mine := ler.HolderIdentity == l.Identity()
	if !mine {
		l.t.close()
	}
	start := time.Now()
	err := l.Interface.Update(ctx, ler)
	l.t.result(ignoreConflict(err))
	if err == nil && mine {
		l.t.mu.Lock()
		if until := start.Add(l.renewDeadline); until.After(l.t.validUntil) {
			l.t.validUntil = until
		}
		l.t.mu.Unlock()
	}
	return err
}

// ignoreConflict: losing a race for the Lease is an answer from the API
// server, not a failure to reach it.
func ignoreConflict(err error) error {
	if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
