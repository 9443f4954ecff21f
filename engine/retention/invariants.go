package retention

import (
	"fmt"
	"slices"
)

// keepNewestSuccess never lets the schedule lose its newest successful backup.
func (ev *evaluation) keepNewestSuccess() {
	if len(ev.candidates) > 0 {
		ev.candidates[0].keepFor("newest successful backup")
	}
}

// live reports whether an incremental holds, or may come to hold, data that
// needs its parent to be restored. Failed incrementals hold nothing; records
// with an unknown status are treated as live to be safe.
func live(e *entry) bool {
	return e.b.Type == TypeIncremental && e.b.Status != StatusFailed
}

// parents maps each incremental to the backup it depends on: its ParentID,
// or the newest successful full of the same schedule created before it.
// Fulls, and incrementals whose parent is not among the input, have none.
func (ev *evaluation) parents() map[*entry]*entry {
	byID := make(map[string]*entry, len(ev.entries))
	for _, e := range ev.entries {
		if _, dup := byID[e.b.ID]; !dup {
			byID[e.b.ID] = e
		}
	}
	out := make(map[*entry]*entry)
	lastFull := map[string]*entry{} // per schedule, while walking oldest to newest
	for i := len(ev.entries) - 1; i >= 0; i-- {
		e := ev.entries[i]
		switch {
		case e.b.Type == TypeIncremental && e.b.ParentID != "":
			if p, ok := byID[e.b.ParentID]; ok && p != e {
				out[e] = p
			}
		case e.b.Type == TypeIncremental:
			if p := lastFull[e.b.ScheduleID]; p != nil {
				out[e] = p
			}
		case isFull(e.b.Type) && e.b.Status == StatusSuccess:
			lastFull[e.b.ScheduleID] = e
		}
	}
	return out
}

// keepDependencies keeps, transitively, every backup a kept live incremental
// depends on, and names the newest dependent in the reason.
func (ev *evaluation) keepDependencies() {
	parent := ev.parents()
	var queue []*entry
	for _, e := range ev.entries {
		if e.keep && live(e) {
			queue = append(queue, e)
		}
	}
	dependents := map[*entry][]*entry{}
	visited := map[*entry]bool{}
	for len(queue) > 0 {
		e := queue[0]
		queue = queue[1:]
		if visited[e] {
			continue
		}
		visited[e] = true
		p := parent[e]
		if p == nil {
			continue
		}
		dependents[p] = append(dependents[p], e)
		p.keep = true
		if live(p) {
			queue = append(queue, p)
		}
	}
	for _, e := range ev.entries {
		deps := dependents[e]
		if len(deps) == 0 {
			continue
		}
		newest := slices.MinFunc(deps, func(x, y *entry) int {
			if newer(x.b, y.b) {
				return -1
			}
			return 1
		})
		reason := "needed by incremental " + newest.b.ID
		if len(deps) > 1 {
			reason += fmt.Sprintf(" (+%d more)", len(deps)-1)
		}
		e.reasons = append(e.reasons, reason)
	}
}
