// Package schedule drives Jagad's schedules with gocron. It decides when a
// schedule is due (cron expressions in settings.timezone, daylight-saving
// rules, clock jumps) and calls back into the engine to run it; it knows
// nothing of backups, the store or metrics beyond the callbacks in Config.
package schedule

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"

	"github.com/jagad/jagad/state"
)

// Config is what a Scheduler needs from its owner.
type Config struct {
	Log   *slog.Logger    // nil: discard
	Clock clockwork.Clock // nil: the real clock
	// Run starts a cron run of a schedule whose slot is due; the owner
	// loads the schedule itself, so the run follows the stored record even
	// before the next Sync. It returns the schedule's name as loaded, or ""
	// when it could not be loaded (removed meanwhile). It calls
	// claim.Release exactly once, when the run has ended or did not start,
	// and cuts the run off (ErrClaimLost) when claim.Lost closes first.
	Run func(scheduleID string, claim Claim) (name string)
	// Gate, in a group of daemons (cluster mode), decides whether this
	// daemon runs a due slot; nil: the daemon runs alone, every slot.
	Gate Gate
	// LastRun is when the schedule's newest backup was created (zero when
	// it has none): registration does not plan slots before it.
	LastRun func(scheduleID string) time.Time
	// NextRun publishes a schedule's next run (zero: not registered), and
	// ForgetNextRun drops what was published for a name no schedule has
	// any more. Both may be nil.
	NextRun       func(name string, next time.Time)
	ForgetNextRun func(name string)
}

// Gate is the one question a group of daemons adds to the scheduler: may
// this daemon run this schedule's slot? ok is true only when it won the
// slot's claim; the claim's Release is then called once when the run has
// ended (the slot is recorded as finished for the whole group). engine/cluster
// implements it on etcd.
type Gate interface {
	Claim(scheduleID string, slot time.Time) (c Claim, ok bool)
}

// Claim is a slot this daemon won. Release is called once when the run has
// ended or did not start. Lost, when not nil, closes if the claim ends
// before (cluster mode: the member's lease expired or was revoked, so
// another member may now run the slot): the run must stop at once, failing
// with ErrClaimLost.
type Claim struct {
	Release func()
	Lost    <-chan struct{}
	// Abandon, when not nil, is called instead of Release when the run
	// did not start because a run of the schedule was still going: the
	// slot stays due. The scheduler keeps it only for catch-up runs; a
	// tick during a run is skipped and its slot counts as run.
	Abandon func()
}

// ErrClaimLost is why a run is cut off when its claim's Lost closes.
var ErrClaimLost = errors.New("cluster lease lost: this member lost its claim on the slot " +
	"(etcd unreachable for longer than the lease TTL, or the lease was revoked), so the run was cut off; " +
	"the slot's new owner runs it")

// Scheduler registers one gocron job per enabled schedule. It is
// level-triggered: Sync compares the schedules it is given with the
// registered jobs and adds, replaces or removes only the jobs that changed.
// A change of time zone re-registers every job in the new zone.
//
// Lock order: Scheduler.mu, then slotBook.mu. A tick never takes
// Scheduler.mu, so stopping gocron (which waits for running ticks) while
// holding it cannot deadlock.
type Scheduler struct {
	cfg   Config
	slots *slotBook

	mu      sync.Mutex
	gc      gocron.Scheduler // nil until the first Sync after Start
	loc     *time.Location
	jobs    map[string]job // schedule ID → job
	started bool
	stopped bool
	// published are the schedule names whose next run was published last.
	published map[string]bool
}

type job struct {
	id   uuid.UUID
	cron string
	name string
}

// New returns a scheduler; nothing runs before Start and the first Sync.
func New(cfg Config) *Scheduler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.NextRun == nil {
		cfg.NextRun = func(string, time.Time) {}
	}
	if cfg.ForgetNextRun == nil {
		cfg.ForgetNextRun = func(string) {}
	}
	return &Scheduler{cfg: cfg, slots: newSlotBook(), jobs: map[string]job{}}
}

// Start lets Sync register jobs: the gocron scheduler is created by the
// first Sync, in the time zone it is given.
func (s *Scheduler) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started = true
}

// Stop stops gocron for good (waiting for ticks in progress): later syncs
// do nothing.
func (s *Scheduler) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	if s.gc != nil {
		if err := s.gc.Shutdown(); err != nil {
			s.cfg.Log.Warn("stop scheduler", "err", err)
		}
		s.gc = nil
	}
	for id := range s.jobs {
		s.slots.unregister(id)
	}
	s.jobs = map[string]job{}
}

// Sync brings the gocron jobs in line with schedules (every stored
// schedule; the disabled and suspended ones get no job) in time zone loc.
// A nil loc keeps the current zone (the owner could not load the one
// configured); before the first zone is known nothing is registered.
func (s *Scheduler) Sync(schedules []state.Schedule, loc *time.Location) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started || s.stopped {
		return
	}
	if loc != nil && (s.gc == nil || s.loc.String() != loc.String()) {
		if err := s.newGocron(loc); err != nil {
			s.cfg.Log.Error("scheduler: keeping the previous time zone", "timezone", loc.String(), "err", err)
		}
	}
	if s.gc == nil {
		return
	}
	want := map[string]state.Schedule{}
	exists := map[string]bool{}
	for _, sc := range schedules {
		exists[sc.ID] = true
		if sc.EffectiveEnabled() {
			want[sc.ID] = sc
		}
	}
	for id, j := range s.jobs {
		if sc, ok := want[id]; ok && sc.CronExpr == j.cron && sc.Name == j.name {
			continue
		}
		if err := s.gc.RemoveJob(j.id); err != nil {
			s.cfg.Log.Warn("scheduler: remove job", "schedule", j.name, "err", err)
		}
		delete(s.jobs, id)
		s.slots.unregister(id)
		s.cfg.Log.Info("schedule unregistered", "schedule", j.name, "reason", unregisterReason(exists[id], want[id].ID != ""))
	}
	s.slots.forgetExcept(exists)
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if _, ok := s.jobs[id]; !ok {
			s.register(want[id])
		}
	}
	s.publishNextRuns(schedules)
}

func unregisterReason(exists, enabled bool) string {
	switch {
	case !exists:
		return "removed"
	case !enabled:
		return "disabled"
	default:
		return "changed"
	}
}

// register adds one schedule's gocron job. Called with s.mu held.
func (s *Scheduler) register(sc state.Schedule) {
	spec, err := parseCronSpec(sc.CronExpr, s.loc)
	if err != nil {
		s.cfg.Log.Error("scheduler: register schedule", "schedule", sc.Name, "cron", sc.CronExpr, "err", err)
		return
	}
	id := sc.ID
	s.slots.register(id, spec, s.consumedThrough(sc))
	j, err := s.gc.NewJob(gocron.CronJob(sc.CronExpr, false),
		gocron.NewTask(func() { s.Tick(id) }),
		gocron.WithName(sc.Name),
		gocron.WithCronImplementation(spec),
	)
	if err != nil {
		s.slots.unregister(id)
		s.cfg.Log.Error("scheduler: register schedule", "schedule", sc.Name, "cron", sc.CronExpr, "err", err)
		return
	}
	s.jobs[id] = job{id: j.ID(), cron: sc.CronExpr, name: sc.Name}
	next := s.slots.nextRun(id, s.cfg.Clock.Now())
	s.cfg.Log.Info("schedule registered", "schedule", sc.Name, "cron", sc.CronExpr, "timezone", s.loc.String(),
		"next_run", next.Format(time.RFC3339))
}

// consumedThrough is the instant through which a schedule being
// registered has run: now, or, when the clock is behind it, the creation of
// the schedule's newest backup. The in-memory slot book does not survive a
// restart; the stored history does, so a restart on a clock that went back
// does not run the slots it already ran.
func (s *Scheduler) consumedThrough(sc state.Schedule) time.Time {
	now := s.cfg.Clock.Now()
	var last time.Time
	if s.cfg.LastRun != nil {
		last = s.cfg.LastRun(sc.ID)
	}
	switch {
	case !last.After(now):
		return now
	case last.Sub(now) > maxHistoryLead:
		// More likely a record written under a wrong clock than a clock set
		// back this far: honouring it would stop the schedule until then.
		s.cfg.Log.Warn("scheduler: the schedule's last run is far in the future; ignoring it (was the clock wrong when it ran?)",
			"schedule", sc.Name, "now", now.UTC().Format(time.RFC3339), "last_run", last.UTC().Format(time.RFC3339))
		return now
	}
	s.cfg.Log.Warn("scheduler: the clock is behind the schedule's last run; its slots up to then will not run again",
		"schedule", sc.Name, "now", now.UTC().Format(time.RFC3339), "last_run", last.UTC().Format(time.RFC3339))
	return last
}

// maxHistoryLead is how far ahead of the clock a schedule's last run may be
// and still count as run (a clock set back across a restart).
const maxHistoryLead = 48 * time.Hour

// newGocron (re)creates the gocron scheduler in loc; every job is
// registered again. Called with s.mu held.
func (s *Scheduler) newGocron(loc *time.Location) error {
	gc, err := gocron.NewScheduler(gocron.WithLocation(loc), gocron.WithClock(s.cfg.Clock),
		gocron.WithStopTimeout(5*time.Second))
	if err != nil {
		return fmt.Errorf("new gocron scheduler: %w", err)
	}
	if s.gc != nil {
		if err := s.gc.Shutdown(); err != nil {
			s.cfg.Log.Warn("scheduler: stop previous scheduler", "err", err)
		}
		for id := range s.jobs {
			s.slots.unregister(id)
		}
		s.cfg.Log.Info("scheduler: time zone changed; registering every schedule again", "from", s.loc.String(), "to", loc.String())
	}
	gc.Start()
	s.gc, s.loc, s.jobs = gc, loc, map[string]job{}
	return nil
}

// publishNextRuns publishes the next run of every schedule (zero when it is
// not registered) and forgets the names no schedule has any more. Called
// with s.mu held.
func (s *Scheduler) publishNextRuns(schedules []state.Schedule) {
	now := s.cfg.Clock.Now()
	names := map[string]bool{}
	for _, sc := range schedules {
		s.cfg.NextRun(sc.Name, s.slots.nextRun(sc.ID, now))
		names[sc.Name] = true
	}
	for name := range s.published {
		if !names[name] {
			s.cfg.ForgetNextRun(name)
		}
	}
	s.published = names
}

// Tick is a cron firing of a schedule (gocron calls it; a test may too).
// The slot book decides whether the firing is due (see slotBook for the
// clock-jump rules); a due firing calls Config.Run.
func (s *Scheduler) Tick(scheduleID string) {
	now := s.cfg.Clock.Now()
	slot, missed, ok := s.slots.claim(scheduleID, now)
	if !ok {
		s.cfg.Log.Warn("scheduler: tick ignored: its slot already ran (did the clock go back?)",
			"schedule_id", scheduleID, "now", now.UTC().Format(time.RFC3339), "next_slot", slot.UTC().Format(time.RFC3339))
		return
	}
	if now.Sub(slot) > catchUpAfter {
		s.cfg.Log.Warn("scheduler: catch-up run for a missed slot (the clock jumped forward or the daemon was stalled)",
			"schedule_id", scheduleID, "slot", slot.UTC().Format(time.RFC3339), "also_missed", missed)
	}
	s.run(scheduleID, slot, false)
}

// run asks the gate (cluster mode) for slot and runs the schedule.
// catchUp keeps the claim's Abandon.
func (s *Scheduler) run(scheduleID string, slot time.Time, catchUp bool) {
	claim := Claim{Release: func() {}}
	if s.cfg.Gate != nil {
		c, ok := s.cfg.Gate.Claim(scheduleID, slot)
		if !ok {
			return
		}
		claim = c
		if claim.Release == nil {
			claim.Release = func() {}
		}
		if !catchUp {
			claim.Abandon = nil
		}
	}
	if name := s.cfg.Run(scheduleID, claim); name != "" {
		s.cfg.NextRun(name, s.slots.nextRun(scheduleID, s.cfg.Clock.Now()))
	}
}

// Version changes whenever a registration or a consumed slot changes, that
// is whenever NextRun may answer differently at the same instant. NextRun
// also moves with the clock, at the schedules' slots (whole minutes). Read
// it before NextRun.
func (s *Scheduler) Version() uint64 { return s.slots.version.Load() }

// CatchUp runs, through the gate, a missed slot of a registered schedule
// (cluster mode: a member that takes over a schedule, or whose slot just
// finished). interrupted, when not zero, is a slot whose run was cut off
// (its member died or lost its lease) and runs first, once. Otherwise the
// newest slot in (finished, now] runs, if there is one: older slots that no
// member claimed are not run, as after a clock jump. finished zero (no
// slot of the schedule ever claimed in the group) does nothing. It reports
// whether a slot was due.
func (s *Scheduler) CatchUp(scheduleID string, finished, interrupted time.Time) bool {
	now := s.cfg.Clock.Now()
	if !interrupted.IsZero() && s.slots.registered(scheduleID) && !interrupted.After(now) {
		s.cfg.Log.Info("scheduler: catch-up of a slot whose run was cut off", "schedule_id", scheduleID,
			"slot", interrupted.UTC().Format(time.RFC3339))
		s.run(scheduleID, interrupted, true)
		return true
	}
	if finished.IsZero() {
		return false
	}
	slot := s.slots.newestSince(scheduleID, finished, now)
	if slot.IsZero() {
		return false
	}
	s.cfg.Log.Info("scheduler: catch-up of a slot not finished in the group", "schedule_id", scheduleID,
		"slot", slot.UTC().Format(time.RFC3339))
	s.run(scheduleID, slot, true)
	return true
}

// NextRun is a schedule's next slot, or zero when it has no job (disabled,
// suspended, removed, or the scheduler is stopped).
func (s *Scheduler) NextRun(scheduleID string) time.Time {
	return s.slots.nextRun(scheduleID, s.cfg.Clock.Now())
}

// Job reports the gocron job of a registered schedule: its ID and the next
// run gocron itself has planned (zero when gocron reports none). ok is
// false when the schedule has no job.
func (s *Scheduler) Job(scheduleID string) (id uuid.UUID, planned time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[scheduleID]
	if !ok || s.gc == nil {
		return uuid.UUID{}, time.Time{}, false
	}
	for _, gj := range s.gc.Jobs() {
		if gj.ID() == j.id {
			if n, err := gj.NextRun(); err == nil {
				planned = n
			}
			break
		}
	}
	return j.id, planned, true
}
