package reconcile

import (
	"sort"

	"github.com/jagad/jagad/state"
)

// planSettings makes the keys the file declares file-managed. A key the file
// no longer declares becomes API-writable again and falls back to its default.
// It returns a function that appends the prunes of keys, so that they come
// last in the plan (prunes run in reverse dependency order, settings first in
// dependency order).
func (pl *planner) planSettings(want map[string]string) (func(), error) {
	cur, err := pl.tx.Settings()
	if err != nil {
		return nil, err
	}
	wasFile := map[string]bool{}
	for _, k := range cur.FileKeys {
		wasFile[k] = true
	}
	next := state.Settings{Values: map[string]string{}}
	for k, v := range cur.Values {
		next.Values[k] = v
	}
	keys := make([]string, 0, len(want)+len(wasFile))
	for k := range want {
		keys = append(keys, k)
	}
	for k := range wasFile {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	changed := false
	var prunes []Item
	for _, k := range keys {
		v, declared := want[k]
		it := Item{Kind: "setting", Name: k, ID: k}
		switch {
		case !declared:
			it.Action = Prune
			if def, ok := state.DefaultSettings[k]; ok {
				next.Values[k] = def
			} else {
				delete(next.Values, k)
			}
		case !wasFile[k]:
			it.Action = Adopt
			if _, known := state.DefaultSettings[k]; !known && cur.Values[k] == "" {
				it.Action = Create
			} else if cur.Values[k] != v {
				it.Fields = []string{"value"}
			}
			next.Values[k] = v
		case cur.Values[k] != v:
			it.Action = Update
			it.Fields = []string{"value"}
			next.Values[k] = v
		default:
			it.Action = Unchanged
		}
		if it.Action != Unchanged {
			changed = true
		}
		if declared {
			next.FileKeys = append(next.FileKeys, k)
		}
		if it.Action == Prune {
			prunes = append(prunes, it)
			continue
		}
		pl.add(it, nil)
	}
	if changed {
		pl.plan.writes = append(pl.plan.writes, func(tx *state.Tx) error { return tx.PutSettings(next) })
	}
	return func() {
		for _, it := range prunes {
			pl.add(it, nil)
		}
	}, nil
}
