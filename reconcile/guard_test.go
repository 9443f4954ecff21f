package reconcile

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/jagad/jagad/state"
)

func TestPruneGuard(t *testing.T) {
	full := manySchedulesYAML(6)
	// Keep only the first schedule: 5 of 9 file-managed records would go.
	truncated := full[:strings.Index(full, "  - name: s01")]
	tests := []struct {
		name    string
		file    string
		confirm bool
		want    Outcome // result
		left    int     // schedules left
	}{
		{name: "held", file: truncated, want: "held", left: 6},
		{name: "confirmed", file: truncated, confirm: true, want: "applied", left: 1},
		{name: "allow_mass_prune", file: replace(t, truncated, "version: 1\n", "version: 1\nallow_mass_prune: true\n"), want: "applied", left: 1},
		{name: "two of six is not mass", file: full[:strings.Index(full, "  - name: s04")], want: "applied", left: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, "")
			f.apply(t, full)
			gen := f.r.Status().Generation
			before := snap(t, f.store)
			feed, stop := f.store.Subscribe(state.KindSchedule)
			defer stop()

			f.write(t, tt.file)
			res := f.reloadConfirm(t, tt.want, tt.confirm)
			got := len(snap(t, f.store).Schedules)
			if got != tt.left {
				t.Errorf("%d schedules left, want %d", got, tt.left)
			}
			st := f.r.Status()
			if tt.want != "held" {
				if st.Held != "" || !st.Healthy || st.Generation != gen+1 || res.Plan.Held != "" {
					t.Errorf("status after %s = held %q healthy %v gen %d (was %d)", tt.want, st.Held, st.Healthy, st.Generation, gen)
				}
				return
			}
			if res.Plan == nil || res.Plan.Held != "prune guard" || res.Err == nil {
				t.Fatalf("held result = %+v", res)
			}
			if st.Held != "prune guard" || st.Healthy || st.LastError == "" || st.Generation != gen {
				t.Errorf("status when held = held %q healthy %v error %q gen %d (was %d)", st.Held, st.Healthy, st.LastError, st.Generation, gen)
			}
			if st.History[0].Result != "held" {
				t.Errorf("history[0] = %+v", st.History[0])
			}
			if !reflect.DeepEqual(snap(t, f.store), before) {
				t.Error("a held plan changed the store")
			}
			select {
			case <-feed:
				t.Error("a held plan wrote schedules")
			default:
			}
			// Confirming (POST /api/config/reload?confirm_prune=true) applies it.
			f.reloadConfirm(t, "applied", true)
			if st := f.r.Status(); st.Held != "" || !st.Healthy {
				t.Errorf("status after confirming = held %q healthy %v", st.Held, st.Healthy)
			}
		})
	}
}

// truncationFile has many records of other kinds and few schedules, at the
// end of the file, where a truncated write cuts first.
const truncationFile = `version: 1
storage:
  - name: local
    provider_type: local
    path: /var/backups/jagad
    is_default: true
connections:
  - {name: a, db_type: postgresql, host: a.example.com, username: u, password: "${PG_PASSWORD}", databases: [a1, a2, a3]}
  - {name: b, db_type: postgresql, host: b.example.com, username: u, password: "${PG_PASSWORD}", databases: [b1, b2, b3]}
  - {name: c, db_type: mysql, host: c.example.com, username: u, password: "${PG_PASSWORD}", databases: [c1, c2, c3]}
schedules:
  - name: a1-nightly
    connection: a
    database: a1
    cron_expr: "0 1 * * *"
  - name: b1-nightly
    connection: b
    database: b1
    cron_expr: "0 2 * * *"
  - name: c1-nightly
    connection: c
    database: c1
    cron_expr: "0 3 * * *"
  - name: c2-nightly
    connection: c
    database: c2
    cron_expr: "0 4 * * *"
`

// TestTruncatedFileDoesNotWipeSchedules cuts the file at every line and
// checks that no parsable prefix may silently delete most of the schedules.
func TestTruncatedFileDoesNotWipeSchedules(t *testing.T) {
	f := newFixture(t, nil, "")
	f.apply(t, truncationFile)
	lines := strings.SplitAfter(truncationFile, "\n")
	parsable := 0
	for i := 1; i < len(lines); i++ {
		cut := strings.Join(lines[:i], "")
		p, err := f.r.PlanBytes([]byte(cut))
		if err != nil {
			continue // rejected as a whole: nothing happens
		}
		parsable++
		if p.Held != "" {
			continue
		}
		if n := countKind(p, "schedule", Prune); n > 2 {
			t.Errorf("cut after line %d: the plan prunes %d of 4 schedules without being held (%s)", i, n, p.Summary())
		}
	}
	if parsable < 5 {
		t.Fatalf("only %d truncations parsed; the test proves nothing", parsable)
	}

	// And the reload itself: the file cut right after "schedules:".
	f.write(t, truncationFile[:strings.Index(truncationFile, "  - name: a1-nightly")])
	f.reload(t, "held")
	if n := len(snap(t, f.store).Schedules); n != 4 {
		t.Fatalf("%d schedules after a truncated file, want 4", n)
	}
}

// TestPruneGuardMessage checks that the held plan's message counts the same
// set of records in both of its numbers and names the kind that tripped.
func TestPruneGuardMessage(t *testing.T) {
	many := manySchedulesYAML(6)
	tests := []struct {
		name   string
		before string
		apiDBs int // API-made databases of connection pg, pruned with it
		file   string
		want   string
	}{
		{
			name:   "the schedules trip the per-kind rule",
			before: many, file: many[:strings.Index(many, "  - name: s01")],
			want: "the plan would delete 5 of 6 file-managed schedule records (5 of 9 file-managed records in all)",
		},
		{
			// 2 settings keys and 3 discovered databases are pruned too; they
			// are not file-managed records, so they count on neither side.
			name:   "settings and cascaded records are not counted",
			before: baseYAML, apiDBs: 3, file: "version: 1\n",
			want: "the plan would delete 5 of 5 file-managed records;",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, "")
			f.apply(t, tt.before)
			conn := snap(t, f.store).Connections[0]
			for i := range tt.apiDBs {
				mustUpdate(t, f.store, func(tx *state.Tx) error {
					return state.Put(tx, state.Database{ID: fmt.Sprintf("db_api%d", i), ConnectionID: conn.ID, DBName: fmt.Sprintf("found%d", i), ManagedBy: state.ManagedByAPI})
				})
			}
			f.write(t, tt.file)
			res := f.reload(t, "held")
			if msg := res.Err.Error(); !strings.Contains(msg, tt.want) {
				t.Errorf("message = %q, want it to contain %q", msg, tt.want)
			}
			if st := f.r.Status(); !strings.Contains(st.LastError, tt.want) {
				t.Errorf("status last_error = %q, want it to contain %q", st.LastError, tt.want)
			}
		})
	}
}
