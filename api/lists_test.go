package api

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jagad/jagad/state"
)

// seedLists gives every list endpoint n records: the fixture's one of each
// kind plus n-1 clones under new IDs and names.
func seedLists(tb testing.TB, e *env, f fixture, n int) {
	tb.Helper()
	err := e.store.Update(func(tx *state.Tx) error {
		c, _ := state.Get[state.Connection](tx, f.conn)
		p, _ := state.Get[state.Provider](tx, f.prov)
		no, _ := state.Get[state.Notification](tx, f.notif)
		sc, _ := state.Get[state.Schedule](tx, f.sched)
		re, _ := state.Get[state.Restore](tx, f.restore)
		b, _ := state.Get[state.Backup](tx, f.backup)
		for i := 1; i < n; i++ {
			c.ID, c.Name = state.NewID(state.KindConnection), fmt.Sprintf("conn-%03d", i)
			p.ID, p.Name, p.IsDefault = state.NewID(state.KindProvider), fmt.Sprintf("prov-%03d", i), false
			no.ID, no.Name = state.NewID(state.KindNotification), fmt.Sprintf("notif-%03d", i)
			sc.ID, sc.Name = state.NewID(state.KindSchedule), fmt.Sprintf("sched-%03d", i)
			re.ID, re.CreatedAt = state.NewID(state.KindRestore), re.CreatedAt.Add(-time.Minute)
			b.ID, b.CreatedAt = state.NewID(state.KindBackup), b.CreatedAt.Add(-time.Minute)
			for _, err := range []error{state.Put(tx, c), state.Put(tx, p), state.Put(tx, no), state.Put(tx, sc),
				state.Put(tx, re), state.Put(tx, b), state.Put(tx, database(f.conn, fmt.Sprintf("db-%03d", i), state.ManagedByAPI))} {
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

func listIDs(tb testing.TB, w *httptest.ResponseRecorder) []string {
	tb.Helper()
	var items []map[string]any // a bare array, never an envelope
	mustJSON(tb, w, &items)
	ids := make([]string, 0, len(items))
	for _, it := range items {
		ids = append(ids, fmt.Sprint(it["id"]))
	}
	return ids
}

func totalOf(tb testing.TB, w *httptest.ResponseRecorder) int {
	tb.Helper()
	n, err := strconv.Atoi(w.Header().Get("X-Total-Count"))
	if err != nil {
		tb.Fatalf("X-Total-Count %q: %v", w.Header().Get("X-Total-Count"), err)
	}
	return n
}

func listPaths(f fixture) []string {
	return []string{"/api/connections", "/api/storage-providers", "/api/notifications", "/api/schedules",
		"/api/restores", "/api/connections/" + f.conn + "/databases", "/api/backups"}
}

func TestListsPaginate(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	const n = 7
	seedLists(t, e, f, n)
	for _, path := range listPaths(f) {
		t.Run(path, func(t *testing.T) {
			w := e.call("GET", path, nil, http.StatusOK)
			all := listIDs(t, w)
			if len(all) != n || totalOf(t, w) != n {
				t.Fatalf("bare GET: %d items, X-Total-Count %s; want %d", len(all), w.Header().Get("X-Total-Count"), n)
			}
			if slices.Contains(all, "") || slices.Contains(all, "<nil>") {
				t.Fatalf("items without id: %v", all)
			}
			for _, tc := range []struct {
				query string
				want  []string
			}{
				{"limit=2", all[:2]},
				{"limit=3&offset=2", all[2:5]},
				{"offset=5", all[5:]},
				{"limit=100&offset=6", all[6:]},
				{"offset=7", []string{}},
				{"offset=1000", []string{}},
				{"limit=0", all},
			} {
				w := e.call("GET", path+"?"+tc.query, nil, http.StatusOK)
				if got := listIDs(t, w); !slices.Equal(got, tc.want) {
					t.Errorf("?%s: got %v, want %v", tc.query, got, tc.want)
				}
				if got := totalOf(t, w); got != n {
					t.Errorf("?%s: X-Total-Count %d, want %d", tc.query, got, n)
				}
			}
			for _, q := range []string{"limit=abc", "limit=-1", "offset=-5", "offset=1.5", "limit=99999999999999999999"} {
				w := e.call("GET", path+"?"+q, nil, http.StatusBadRequest)
				var body map[string]string
				mustJSON(t, w, &body)
				if !bytes.Contains([]byte(body["error"]), []byte("non-negative integer")) {
					t.Errorf("?%s: error %q does not say what is wrong", q, body["error"])
				}
			}
		})
	}
}

// TestListsCapUnpaginated: a list without limit answers at most maxUnpaged
// items and says how many there are.
func TestListsCapUnpaginated(t *testing.T) {
	all := make([]int, maxUnpaged+5)
	for _, q := range []string{"", "?limit=0", "?limit=20000"} {
		p, err := pageOf(httptest.NewRequest("GET", "/api/schedules"+q, nil))
		if err != nil {
			t.Fatal(err)
		}
		got := pageViews(all, p, func(i int) int { return i })
		if n := len(got.items.([]int)); n != maxUnpaged || got.total != len(all) {
			t.Errorf("%q: %d items, total %d; want %d, %d", q, n, got.total, maxUnpaged, len(all))
		}
	}
}

// TestBackupsTotalFiltered: X-Total-Count of /api/backups counts what the
// filters select, not every backup.
func TestBackupsTotalFiltered(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	seedLists(t, e, f, 4)
	other := database(f.conn, "other", state.ManagedByAPI)
	put(t, e.store, other, database(f.conn, "other", state.ManagedByAPI))
	put(t, e.store, state.Backup{ID: state.NewID(state.KindBackup), ConnectionID: f.conn, DatabaseID: other.ID,
		BackupType: "full", Status: state.StatusFailed, CreatedAt: time.Now().UTC()})
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"", 5},
		{"?limit=1", 5},
		{"?database_id=" + f.db, 4},
		{"?database_id=" + other.ID, 1},
		{"?connection_id=" + f.conn + "&schedule_id=" + f.sched, 4},
		{"?database_id=nope", 0},
	} {
		if got := totalOf(t, e.call("GET", "/api/backups"+tc.query, nil, http.StatusOK)); got != tc.want {
			t.Errorf("%q: X-Total-Count %d, want %d", tc.query, got, tc.want)
		}
	}
}
