package engine

import (
	"context"
	"sync"
)

// limiter is a counting semaphore whose size can change while jobs wait
// (settings.concurrent_backups is followed live).
type limiter struct {
	mu      sync.Mutex
	max     int
	used    int
	waiters []chan struct{}
}

func newLimiter(n int) *limiter { return &limiter{max: n} }

// acquire waits for a slot or for ctx to end.
func (l *limiter) acquire(ctx context.Context) error {
	l.mu.Lock()
	if l.used < l.max && len(l.waiters) == 0 {
		l.used++
		l.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	l.waiters = append(l.waiters, ch)
	l.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		defer l.mu.Unlock()
		for i, w := range l.waiters {
			if w == ch {
				l.waiters = append(l.waiters[:i], l.waiters[i+1:]...)
				return ctx.Err()
			}
		}
		// Granted while we gave up: hand the slot on.
		l.used--
		l.grantLocked()
		return ctx.Err()
	}
}

// release frees a slot.
func (l *limiter) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.used--
	l.grantLocked()
}

// resize changes the number of slots; running jobs keep theirs.
func (l *limiter) resize(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.max = n
	l.grantLocked()
}

// inUse returns the slots in use and the number of waiters.
func (l *limiter) inUse() (used, waiting int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.used, len(l.waiters)
}

func (l *limiter) grantLocked() {
	for l.used < l.max && len(l.waiters) > 0 {
		ch := l.waiters[0]
		l.waiters = l.waiters[1:]
		l.used++
		close(ch)
	}
}
