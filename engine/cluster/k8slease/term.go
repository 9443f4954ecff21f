package k8slease

import (
	"sync"
	"time"
)

// term is what this candidate knows for sure about its hold on the Lease,
// kept from the answers of the API server to its reads and writes.
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
	// holder of a deleted one: see opened).
	openFrom time.Time
	// lastOK is when the last call to the API server succeeded (readiness).
	lastOK time.Time
	// lastErr is the last call's error (nil when it succeeded).
	lastErr error
	// why is the reason of the close that ended the gate's validity early
	// (CutLost, CutLeft); "" when it ran out (CutUnconfirmed).
	why string
}

func (t *term) open(now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return now.Before(t.validUntil) && !now.Before(t.openFrom)
}

// close ends the gate's validity now; why says why, when it was still
// valid (a gate that had run out keeps its reason: the renewal was late).
func (t *term) close(why string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now := time.Now(); t.validUntil.After(now) {
		t.validUntil = now
		t.why = why
	}
}

// closedWhy is why the gate is closed: the reason of the close that ended
// it, else CutUnconfirmed (its validity ran out without a renewal).
func (t *term) closedWhy() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.why != "" {
		return t.why
	}
	return CutUnconfirmed
}

func (t *term) result(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lastErr = err
	if err == nil {
		t.lastOK = time.Now()
	}
}

// opened records a write of the Lease naming this candidate that began at
// start and succeeded: the gate may stay open until start + RenewDeadline.
// created: the write made the Lease, which was gone, perhaps deleted while
// another candidate held it and still counted on its last renewal; the gate
// then stays closed until that holder has given up, RenewDeadline after.
func (t *term) opened(start time.Time, renewDeadline time.Duration, created bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	until := start.Add(renewDeadline)
	if created {
		t.openFrom = until
	}
	if until.After(t.validUntil) {
		t.validUntil = until
		t.why = ""
	}
}
