// Package retention decides which backups of a schedule to keep and which to
// delete. It is a pure function of its inputs: no clock, no I/O, no logging.
//
// Apply considers only the successful backups owned by the schedule it is
// asked about; everything else is kept. A successful backup is kept when ANY
// rule keeps it (a union, as in restic's forget policy):
//
//   - count rules: the newest RetentionFull successful fulls and the newest
//     RetentionIncr successful incrementals. A count of 0 means "no count
//     limit for that type": when no time rule (GFS bucket or KeepWithin) is
//     configured either, every backup of that type is kept (Jagad's original
//     behaviour); when a time rule is configured, that type is governed by the
//     time rules alone.
//   - GFS buckets: walking successful backups (both types) newest first, the
//     newest backup of each of the last KeepDaily days, KeepWeekly ISO weeks,
//     KeepMonthly months and KeepYearly years that have backups. Buckets are
//     computed in Policy.Location (UTC when nil).
//   - KeepWithin: every successful backup created after now-KeepWithin.
//
// When no rule is configured at all, everything is kept. After the rules,
// safety invariants add keeps, never deletions:
//
//   - the newest successful backup of the schedule is never deleted;
//   - a backup that a kept, non-failed incremental depends on is never
//     deleted, transitively: its ParentID, or, when ParentID is empty, the
//     newest successful full of the same schedule created before it. A
//     ParentID naming a backup not in the input protects nothing;
//   - queued, running and verifying backups are never deleted; failed records
//     are kept as history (the engine removes failed records separately), and
//     records with an unknown status or type are kept.
//
// Ordering is by CreatedAt; equal timestamps are broken by ID, the greater ID
// counting as newer, so the result does not depend on input order.
// POLICY.md explains the same rules for users, with every reason string.
package retention

import (
	"slices"
	"time"
)

// Backup types and statuses the policy understands.
const (
	TypeFull        = "full"
	TypeIncremental = "incremental"
	// TypePhysical is a physical full (mariadb-backup), the base of a
	// chain of incrementals; retention counts it as a full.
	TypePhysical = "physical"

	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusVerifying = "verifying"
	StatusSuccess   = "success"
	StatusFailed    = "failed"
)

// Backup is the part of a backup record the policy needs.
type Backup struct {
	ID         string
	ScheduleID string    // "" = one-shot
	Type       string    // full | incremental
	Status     string    // queued | running | verifying | success | failed
	CreatedAt  time.Time // ordering key; ties broken by ID
	// ParentID is, for incrementals, the backup it depends on. "" = derive:
	// the newest successful full of the same schedule created before it.
	ParentID string
}

// Policy is a schedule's retention configuration. Negative numbers are
// treated as 0.
type Policy struct {
	RetentionFull, RetentionIncr                   int
	KeepDaily, KeepWeekly, KeepMonthly, KeepYearly int
	KeepWithin                                     time.Duration
	Location                                       *time.Location // nil = UTC
}

// Decision is the verdict on one backup and every reason behind it.
type Decision struct {
	ID      string   `json:"id"`
	Keep    bool     `json:"keep"`
	Reasons []string `json:"reasons"`
}

// Result holds one decision per input backup; both lists are newest first.
type Result struct {
	Keep   []Decision `json:"keep"`
	Delete []Decision `json:"delete"`
}

// Apply decides, for the schedule scheduleID, which of backups to keep and
// which to delete under policy p at time now. See the package comment for
// the rules. Backups not owned by scheduleID are always kept.
func Apply(scheduleID string, backups []Backup, p Policy, now time.Time) Result {
	p = p.normalized()
	es := sortedEntries(backups)
	ev := &evaluation{scheduleID: scheduleID, policy: p, now: now, entries: es}
	ev.classify()
	ev.applyCountRules()
	ev.applyBuckets()
	ev.applyWithin()
	ev.keepNewestSuccess()
	ev.keepDependencies()
	ev.explainDeletions()
	return ev.result()
}

// entry is one backup under evaluation.
type entry struct {
	b         Backup
	candidate bool // owned, successful, known type: the only deletable kind
	keep      bool
	reasons   []string
}

func (e *entry) keepFor(reason string) {
	e.keep = true
	e.reasons = append(e.reasons, reason)
}

// newer reports whether a sorts before b in newest-first order.
func newer(a, b Backup) bool {
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.After(b.CreatedAt)
	}
	return a.ID > b.ID
}

// sortedEntries copies backups into entries ordered newest first.
func sortedEntries(backups []Backup) []*entry {
	es := make([]*entry, len(backups))
	for i, b := range backups {
		es[i] = &entry{b: b}
	}
	slices.SortStableFunc(es, func(x, y *entry) int {
		switch {
		case newer(x.b, y.b):
			return -1
		case newer(y.b, x.b):
			return 1
		}
		return 0
	})
	return es
}

func (p Policy) normalized() Policy {
	for _, n := range []*int{&p.RetentionFull, &p.RetentionIncr, &p.KeepDaily,
		&p.KeepWeekly, &p.KeepMonthly, &p.KeepYearly} {
		*n = max(*n, 0)
	}
	p.KeepWithin = max(p.KeepWithin, 0)
	if p.Location == nil {
		p.Location = time.UTC
	}
	return p
}

// hasTimeRules reports whether a GFS bucket or KeepWithin is configured.
func (p Policy) hasTimeRules() bool {
	return p.KeepDaily > 0 || p.KeepWeekly > 0 || p.KeepMonthly > 0 ||
		p.KeepYearly > 0 || p.KeepWithin > 0
}

// countFor returns the count limit for a backup type.
func (p Policy) countFor(typ string) int {
	if isFull(typ) {
		return p.RetentionFull
	}
	return p.RetentionIncr
}

// isFull reports whether a type is a full: logical or physical.
func isFull(typ string) bool { return typ == TypeFull || typ == TypePhysical }

// countType is the type a backup counts as: physical fulls are fulls.
func countType(typ string) string {
	if isFull(typ) {
		return TypeFull
	}
	return typ
}

func (ev *evaluation) result() Result {
	r := Result{Keep: []Decision{}, Delete: []Decision{}}
	for _, e := range ev.entries {
		d := Decision{ID: e.b.ID, Keep: e.keep, Reasons: e.reasons}
		if e.keep {
			r.Keep = append(r.Keep, d)
		} else {
			r.Delete = append(r.Delete, d)
		}
	}
	return r
}
