package reconcile

import (
	"strings"
	"testing"

	"github.com/jagad/jagad/state"
)

// suspend sets the API's runtime override on a file-managed schedule.
func suspend(tb testing.TB, s *state.Store, name string, enabled bool) {
	tb.Helper()
	sch := schedule(tb, s, name)
	mustUpdate(tb, s, func(tx *state.Tx) error {
		sch.Override = &state.Override{Enabled: &enabled}
		return state.Put(tx, sch)
	})
}

func TestScheduleOverride(t *testing.T) {
	f := newFixture(t, nil, baseYAML)
	f.reload(t, "applied")
	suspend(t, f.store, "nightly", false)

	// The same file: the override stays, nothing is written.
	res := f.reload(t, "unchanged")
	if it, _ := findItem(res.Plan, "schedule", "nightly"); it.Action != Unchanged {
		t.Errorf("schedule with an override: %s, want unchanged", it.Action)
	}
	if sch := schedule(t, f.store, "nightly"); sch.EffectiveEnabled() || sch.Override == nil {
		t.Fatalf("override lost on an unchanged reload: %+v", sch.Override)
	}

	// Another field changes, enabled does not: the override stays.
	f.apply(t, replace(t, baseYAML, `"0 2 * * *"`, `"0 4 * * *"`))
	sch := schedule(t, f.store, "nightly")
	if sch.CronExpr != "0 4 * * *" || sch.Override == nil || sch.EffectiveEnabled() {
		t.Fatalf("after a cron change: cron %q override %+v", sch.CronExpr, sch.Override)
	}

	// The file's enabled changes: the override is dropped, the file wins.
	disabled := replace(t, baseYAML, `"0 2 * * *"`, "\"0 4 * * *\"\n    enabled: false")
	res = f.apply(t, disabled)
	it, _ := findItem(res.Plan, "schedule", "nightly")
	if it.Action != Update {
		t.Errorf("schedule: %s, want update", it.Action)
	}
	sch = schedule(t, f.store, "nightly")
	if sch.Override != nil || sch.Enabled || sch.EffectiveEnabled() {
		t.Fatalf("after the file changed enabled: enabled %v override %+v", sch.Enabled, sch.Override)
	}

	// An override of a disabled schedule is dropped when the file enables it again.
	suspend(t, f.store, "nightly", true)
	f.reload(t, "unchanged")
	if sch := schedule(t, f.store, "nightly"); !sch.EffectiveEnabled() {
		t.Fatal("resume override lost")
	}
	f.apply(t, replace(t, baseYAML, `"0 2 * * *"`, `"0 4 * * *"`))
	if sch := schedule(t, f.store, "nightly"); sch.Override != nil || !sch.Enabled {
		t.Fatalf("after the file enabled it: enabled %v override %+v", sch.Enabled, sch.Override)
	}
}

// TestOverrideSurvivesPruneAndRecreate: a schedule pruned and declared again
// under the same name gets its override back, unless the file's value of
// the field changed in between.
func TestOverrideSurvivesPruneAndRecreate(t *testing.T) {
	without := baseYAML[:strings.Index(baseYAML, "  - name: nightly")]
	tests := []struct {
		name     string
		recreate string
		wantKept bool
		wantOn   bool // effective enabled after the recreate
	}{
		{name: "same enabled", recreate: baseYAML, wantKept: true, wantOn: false},
		{name: "the file changed enabled", recreate: replace(t, baseYAML, `"0 2 * * *"`, "\"0 2 * * *\"\n    enabled: false"), wantKept: false, wantOn: false},
		{name: "another field changed", recreate: replace(t, baseYAML, `"0 2 * * *"`, `"0 5 * * *"`), wantKept: true, wantOn: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, baseYAML)
			f.reload(t, "applied")
			suspend(t, f.store, "nightly", false)

			res := f.apply(t, without)
			if n := countKind(res.Plan, "schedule", Prune); n != 1 {
				t.Fatalf("%d schedules pruned, want 1", n)
			}
			res = f.apply(t, tt.recreate)
			if it, _ := findItem(res.Plan, "schedule", "nightly"); it.Action != Create {
				t.Fatalf("schedule: %s, want create", it.Action)
			}
			sch := schedule(t, f.store, "nightly")
			if (sch.Override != nil) != tt.wantKept || sch.EffectiveEnabled() != tt.wantOn {
				t.Errorf("after the recreate: override %+v, effective enabled %v; want kept %v, enabled %v",
					sch.Override, sch.EffectiveEnabled(), tt.wantKept, tt.wantOn)
			}
			// Kept once: pruned and recreated again, it is not there any more
			// unless it was back on the record.
			mustUpdate(t, f.store, func(tx *state.Tx) error {
				sch.Override = nil
				return state.Put(tx, sch)
			})
			f.apply(t, without)
			f.apply(t, tt.recreate)
			if sch := schedule(t, f.store, "nightly"); sch.Override != nil {
				t.Errorf("an override cleared through the API came back: %+v", sch.Override)
			}
		})
	}
}
