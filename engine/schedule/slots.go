package schedule

import (
	"sync"
	"sync/atomic"
	"time"
)

// tickTolerance is how early (by the wall clock) a tick may arrive and
// still claim its slot: Go timers run on the monotonic clock, which can
// drift a little from a slewed wall clock.
const tickTolerance = time.Second

// catchUpAfter is how late a tick must be, after its slot, to be logged as
// a catch-up run.
const catchUpAfter = time.Minute

// maxMissedCount bounds the counting of missed slots for the log line.
const maxMissedCount = 1000

// slotBook remembers, per schedule, the instant through which its cron
// slots are consumed, and claims slots for ticks. It is the scheduler's
// guard against clock jumps, whatever gocron does:
//
//   - A tick runs only if a slot of the schedule lies in (consumed, now];
//     it then consumes every slot up to now. So one tick runs at most once
//     per slot, and after a jump forward over many slots the schedule runs
//     once (a single catch-up for the latest missed slots, logged as such)
//     and then continues with the next future slot.
//   - After a jump backward, the slots that already ran stay consumed: a
//     job registered again (cron change, re-enable, time zone change) plans
//     its first slot after the consumed instant (cronSpec.floor), and a
//     stray tick for a consumed slot is refused and logged.
//   - Registering a schedule consumes everything up to the registration
//     time: slots missed while a schedule was disabled, or before the
//     daemon started, are not caught up.
//
// The book lives in memory: it survives job replacements and time-zone
// changes. Across a restart, registration starts from the newest backup of
// the schedule when the clock is behind it (Scheduler.consumedThrough).
type slotBook struct {
	mu    sync.Mutex
	specs map[string]*cronSpec // registered schedules
	fired map[string]time.Time // schedule ID → consumed through
	// version moves after every change of specs or fired (under mu, at the
	// end of the change), so a reader that reads it before nextRun never
	// pairs a new version with an old next run (Scheduler.Version).
	version atomic.Uint64
}

func newSlotBook() *slotBook {
	return &slotBook{specs: map[string]*cronSpec{}, fired: map[string]time.Time{}}
}

// register records spec for a schedule registered at now and wires its floor.
func (b *slotBook) register(id string, spec *cronSpec, now time.Time) {
	spec.floor = func() time.Time { return b.consumed(id) }
	b.mu.Lock()
	defer b.mu.Unlock()
	b.specs[id] = spec
	if now.After(b.fired[id]) {
		b.fired[id] = now
	}
	b.version.Add(1)
}

// unregister forgets a schedule's spec; its consumed instant stays.
func (b *slotBook) unregister(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.specs, id)
	b.version.Add(1)
}

func (b *slotBook) consumed(id string) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.fired[id]
}

// claim decides whether a tick at now may run. It returns the slot claimed
// and how many further slots were missed since it (a catch-up), or ok=false
// when no unconsumed slot is due.
func (b *slotBook) claim(id string, now time.Time) (slot time.Time, missed int, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	spec := b.specs[id]
	if spec == nil {
		return time.Time{}, 0, false
	}
	slot = spec.next(b.fired[id])
	if slot.IsZero() || slot.After(now.Add(tickTolerance)) {
		return slot, 0, false
	}
	for n := spec.next(slot); !n.IsZero() && !n.After(now) && missed < maxMissedCount; n = spec.next(n) {
		missed++
	}
	b.fired[id] = now
	if slot.After(now) {
		b.fired[id] = slot
	}
	b.version.Add(1)
	return slot, missed, true
}

// registered reports whether a schedule has a job.
func (b *slotBook) registered(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.specs[id] != nil
}

// newestSince is the newest slot of a registered schedule in (after, now],
// or zero.
func (b *slotBook) newestSince(id string, after, now time.Time) time.Time {
	b.mu.Lock()
	spec := b.specs[id]
	b.mu.Unlock()
	if spec == nil {
		return time.Time{}
	}
	// Look back over growing windows: the newest slot lies in the smallest
	// window that holds any, so a frequent schedule scans few slots.
	for _, w := range []time.Duration{time.Hour, 25 * time.Hour, 32 * 24 * time.Hour, 400 * 24 * time.Hour} {
		from := now.Add(-w)
		if from.Before(after) {
			from = after
		}
		var newest time.Time
		for n := spec.next(from); !n.IsZero() && !n.After(now); n = spec.next(n) {
			newest = n
		}
		if !newest.IsZero() || !from.After(after) {
			return newest
		}
	}
	return time.Time{}
}

// nextRun is the schedule's next slot after now, or zero when it is not
// registered.
func (b *slotBook) nextRun(id string, now time.Time) time.Time {
	b.mu.Lock()
	spec := b.specs[id]
	b.mu.Unlock()
	if spec == nil {
		return time.Time{}
	}
	return spec.Next(now)
}

// forgetExcept drops the schedules whose ID is not in exists.
func (b *slotBook) forgetExcept(exists map[string]bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for id := range b.fired {
		if !exists[id] {
			delete(b.fired, id)
			delete(b.specs, id)
			b.version.Add(1)
		}
	}
}
