package engine

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jagad/jagad/config/cron"
	"github.com/jagad/jagad/state"
)

// Bounds of the walk over a cron expression's firings that finds its longest
// interval: at least minFirings firings spanning minSpan (so weekday-only and
// month-end expressions show their longest gap), at most maxFirings.
const (
	minFirings = 13
	minSpan    = 8 * 24 * time.Hour
	maxFirings = 20000
)

// refreshFromStore builds the gauges that describe stored state and keeps
// them in step with the store's change feed until the engine stops: every
// schedule has its series from the start (last success 0 = never), a
// schedule created or renamed later gets them when it appears, a removed
// schedule's series are deleted; storage bytes per provider and resources
// per kind and owner follow too.
func (m *Metrics) refreshFromStore(e *Engine) {
	m.follow.Do(func() {
		// Subscribe before the first sync, so no change falls in between.
		e.onChanges(func() { m.syncStore(e) }, state.KindSchedule, state.KindSettings, state.KindConnection,
			state.KindProvider, state.KindNotification)
		m.syncStore(e)
	})
}

// syncStore brings the per-schedule series, resources and storage bytes in
// line with the store.
func (m *Metrics) syncStore(e *Engine) {
	err := e.store.View(func(tx *state.Tx) error {
		schedules, err := state.List[state.Schedule](tx)
		if err != nil {
			return err
		}
		s, err := tx.Settings()
		if err != nil {
			return err
		}
		m.syncSchedules(tx, schedules, s.Timezone(), e.opts.DefaultTimeout, e.now())
		return m.refreshResources(tx)
	})
	if err != nil {
		e.log.Error("refresh metrics", "err", err)
	}
	e.refreshStorageBytes()
	e.refreshCopies()
}

// syncSchedules creates the series of new or renamed schedules (from their
// stored history), deletes those of names no schedule uses any more and
// sets every schedule's max age and creation time.
func (m *Metrics) syncSchedules(tx *state.Tx, schedules []state.Schedule, loc *time.Location, timeout time.Duration, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	inUse := map[string]bool{}
	for _, s := range schedules {
		inUse[scheduleLabel(s.Name)] = true
	}
	for id, name := range m.known {
		if !inUse[name] {
			m.deleteSchedule(name)
			delete(m.known, id)
		}
	}
	current := map[string]bool{}
	for _, s := range schedules {
		name := scheduleLabel(s.Name)
		current[s.ID] = true
		// Max age and creation time first: a scrape that sees a new
		// schedule's last-success series then also sees its max age.
		m.maxAge.WithLabelValues(name).Set(scheduleMaxAge(s, loc, timeout, now).Seconds())
		m.created.WithLabelValues(name).Set(unixOrZero(s.CreatedAt))
		if m.known[s.ID] != name {
			m.initSchedule(tx, s)
			m.known[s.ID] = name
		}
	}
	for id := range m.known {
		if !current[id] {
			delete(m.known, id)
		}
	}
}

func unixOrZero(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.Unix())
}

// deleteSchedule drops every series labelled with schedule name.
func (m *Metrics) deleteSchedule(name string) {
	l := prometheus.Labels{"schedule": name}
	m.backups.DeletePartialMatch(l)
	m.duration.DeletePartialMatch(l)
	m.lastSuccess.DeletePartialMatch(l)
	m.lastStatus.DeletePartialMatch(l)
	m.lastSize.DeletePartialMatch(l)
	m.nextRun.DeletePartialMatch(l)
	m.maxAge.DeletePartialMatch(l)
	m.created.DeletePartialMatch(l)
	m.skipped.DeletePartialMatch(l)
}

// scheduleMaxAge is the age past which a schedule's last success is too
// old: its max_age when set, else 1.5 × its longest cron interval plus its
// timeout (defTimeout when unset). 0 when the cron expression is invalid.
func scheduleMaxAge(s state.Schedule, loc *time.Location, defTimeout time.Duration, now time.Time) time.Duration {
	if s.MaxAge > 0 {
		return time.Duration(s.MaxAge)
	}
	sched, err := cron.Parse(s.CronExpr, loc)
	if err != nil {
		return 0
	}
	timeout := time.Duration(s.Timeout)
	if timeout <= 0 {
		timeout = defTimeout
	}
	return cronInterval(sched, now)*3/2 + timeout
}

// nexter is the part of a parsed cron expression that cronInterval uses.
type nexter interface{ Next(time.Time) time.Time }

// cronInterval is the longest gap between consecutive firings of sched
// after now (see minFirings, minSpan, maxFirings).
func cronInterval(sched nexter, now time.Time) time.Duration {
	first := sched.Next(now)
	if first.IsZero() {
		return 0
	}
	var longest time.Duration
	prev := first
	for n := 1; n < maxFirings; n++ {
		next := sched.Next(prev)
		if next.IsZero() {
			break
		}
		if gap := next.Sub(prev); gap > longest {
			longest = gap
		}
		prev = next
		if n >= minFirings && prev.Sub(first) >= minSpan {
			break
		}
	}
	return longest
}
