package reconcile

import (
	"slices"
	"testing"

	"github.com/jagad/jagad/state"
)

// A schedule's copies_to reaches its record as provider IDs with each
// destination's own policy, a second reload changes nothing, and an edit of
// one target's policy is an update of the schedule's copies_to.
func TestCopiesToResolvedToProviderIDs(t *testing.T) {
	withCopies := replace(t, baseYAML, "    notifications: [hook]\n",
		"    notifications: [hook]\n    copies_to: [offsite, {storage: vault, keep_monthly: 12}]\n")
	withCopies = replace(t, withCopies, "storage:\n",
		"storage:\n  - name: offsite\n    provider_type: local\n    path: /mnt/offsite\n  - name: vault\n    provider_type: local\n    path: /mnt/vault\n")
	f := newFixture(t, nil, withCopies)
	f.reload(t, "applied")
	f.reload(t, "unchanged")
	sn := snap(t, f.store)
	ids := map[string]string{}
	for _, p := range sn.Providers {
		ids[p.Name] = p.ID
	}
	sc := schedule(t, f.store, "nightly")
	want := []state.CopyTarget{{StorageProviderID: ids["offsite"]}, {StorageProviderID: ids["vault"], KeepMonthly: 12}}
	if !slices.Equal(sc.CopiesTo, want) || ids["offsite"] == "" || ids["vault"] == "" {
		t.Fatalf("copies_to = %+v, want %+v", sc.CopiesTo, want)
	}
	if got := sc.CopyRetention(sc.CopiesTo[1]); got.Monthly != 12 || got.Full != 0 {
		t.Errorf("vault policy = %+v, want keep_monthly 12 alone", got)
	}
	if got := sc.CopyRetention(sc.CopiesTo[0]); got != sc.Retention() {
		t.Errorf("offsite policy = %+v, want the schedule's %+v", got, sc.Retention())
	}
	res := f.apply(t, replace(t, withCopies, "keep_monthly: 12", "keep_monthly: 6"))
	var fields []string
	for _, it := range res.Plan.Items {
		if it.Kind == "schedule" && it.Name == "nightly" {
			fields = it.Fields
		}
	}
	if !slices.Equal(fields, []string{"copies_to"}) {
		t.Errorf("plan fields of the edit = %v, want [copies_to]", fields)
	}
}
