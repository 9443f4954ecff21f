package retention

import (
	"fmt"
	"strings"
	"time"
)

// evaluation carries one Apply call through its steps.
type evaluation struct {
	scheduleID string
	policy     Policy
	now        time.Time
	entries    []*entry // all backups, newest first
	candidates []*entry // owned successful fulls and incrementals, newest first
	rank       map[*entry]int
}

// classify keeps everything that is not a deletable candidate and collects
// the candidates.
func (ev *evaluation) classify() {
	for _, e := range ev.entries {
		switch b := e.b; {
		case b.ScheduleID == "":
			e.keepFor("not owned by a schedule")
		case b.ScheduleID != ev.scheduleID:
			e.keepFor("not owned by this schedule")
		case b.Status == StatusFailed:
			e.keepFor("failed (kept as history)")
		case b.Status == StatusQueued, b.Status == StatusRunning, b.Status == StatusVerifying:
			e.keepFor(b.Status)
		case b.Status != StatusSuccess:
			e.keepFor(fmt.Sprintf("unknown status %q", b.Status))
		case !isFull(b.Type) && b.Type != TypeIncremental:
			e.keepFor(fmt.Sprintf("unknown type %q", b.Type))
		default:
			e.candidate = true
			ev.candidates = append(ev.candidates, e)
		}
	}
}

// countKey names the setting that limits a backup type.
func countKey(typ string) string {
	if isFull(typ) {
		return "retention_full"
	}
	return "retention_incr"
}

// applyCountRules keeps the newest N candidates of each type, or all of a
// type that has no count limit and no time rule to govern it.
func (ev *evaluation) applyCountRules() {
	p := ev.policy
	noRules := p.RetentionFull == 0 && p.RetentionIncr == 0 && !p.hasTimeRules()
	seen := map[string]int{}
	ev.rank = make(map[*entry]int, len(ev.candidates))
	for _, e := range ev.candidates {
		t := countType(e.b.Type)
		seen[t]++
		ev.rank[e] = seen[t]
		n := p.countFor(t)
		switch {
		case noRules:
			e.keepFor("no retention rules")
		case n == 0 && !p.hasTimeRules():
			e.keepFor("no " + countKey(t) + " limit")
		case n > 0 && seen[t] <= n:
			e.keepFor(fmt.Sprintf("newest %d %s", n, t))
		}
	}
}

// bucketRule is one GFS rule: keep the newest backup in each of the last n
// buckets that have backups.
type bucketRule struct {
	name string // daily | weekly | monthly | yearly
	n    int
	key  func(time.Time) string
}

func (p Policy) bucketRules() []bucketRule {
	return []bucketRule{
		{"daily", p.KeepDaily, func(t time.Time) string { return t.Format("2006-01-02") }},
		{"weekly", p.KeepWeekly, func(t time.Time) string {
			y, w := t.ISOWeek()
			return fmt.Sprintf("%04d-W%02d", y, w)
		}},
		{"monthly", p.KeepMonthly, func(t time.Time) string { return t.Format("2006-01") }},
		{"yearly", p.KeepYearly, func(t time.Time) string { return t.Format("2006") }},
	}
}

// applyBuckets walks candidates newest first; the first candidate seen in a
// new bucket is kept while the rule has buckets left.
func (ev *evaluation) applyBuckets() {
	for _, r := range ev.policy.bucketRules() {
		last, left := "", r.n
		for _, e := range ev.candidates {
			if left == 0 {
				break
			}
			k := r.key(e.b.CreatedAt.In(ev.policy.Location))
			if k == last {
				continue
			}
			e.keepFor(r.name + " " + k)
			last = k
			left--
		}
	}
}

// applyWithin keeps every candidate created after now-KeepWithin.
func (ev *evaluation) applyWithin() {
	w := ev.policy.KeepWithin
	if w == 0 {
		return
	}
	cutoff := ev.now.Add(-w)
	for _, e := range ev.candidates {
		if e.b.CreatedAt.After(cutoff) {
			e.keepFor("within " + formatDuration(w))
		}
	}
}

// explainDeletions gives every candidate that no rule kept the reasons it
// goes: each configured rule it falls outside of.
func (ev *evaluation) explainDeletions() {
	p := ev.policy
	var buckets []string
	for _, r := range p.bucketRules() {
		if r.n > 0 {
			buckets = append(buckets, fmt.Sprintf("keep_%s %d", r.name, r.n))
		}
	}
	for _, e := range ev.candidates {
		if e.keep {
			continue
		}
		if n := p.countFor(e.b.Type); n > 0 {
			e.reasons = append(e.reasons,
				fmt.Sprintf("over %s (%d > %d)", countKey(e.b.Type), ev.rank[e], n))
		}
		if len(buckets) > 0 {
			e.reasons = append(e.reasons, "outside "+strings.Join(buckets, ", "))
		}
		if p.KeepWithin > 0 {
			e.reasons = append(e.reasons, "older than "+formatDuration(p.KeepWithin))
		}
	}
}

// formatDuration prints whole days as "7d", whole hours as "36h", and
// anything else in Go's notation.
func formatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d%day == 0:
		return fmt.Sprintf("%dd", d/day)
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}
