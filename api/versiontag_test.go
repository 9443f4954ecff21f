package api

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jagad/jagad/state"
)

// versionedEngine is the fake engine with a scheduler version, counting the
// ScheduleInfo calls (one per schedule view rendered).
type versionedEngine struct {
	*fakeEngine
	version atomic.Uint64
	infos   atomic.Int64
}

func (v *versionedEngine) ScheduleVersion() uint64 { return v.version.Load() }

func (v *versionedEngine) ScheduleInfo(id string) (next, last *time.Time, status string) {
	v.infos.Add(1)
	return v.fakeEngine.ScheduleInfo(id)
}

// TestVersionTagSkipsTheRead: a list's ETag comes from the store's and the
// scheduler's versions, so a poller's If-None-Match is answered 304 without
// rendering a view (no ScheduleInfo call), in identity and gzip; the tag
// moves with a write of a kind the list shows, with the scheduler's version
// and with the minute (next_run_at), and not with a write of another kind.
func TestVersionTagSkipsTheRead(t *testing.T) {
	ve := &versionedEngine{}
	var clock atomic.Int64
	clock.Store(time.Now().Truncate(time.Minute).UnixNano())
	e := newEnv(t, func(d *Deps) {
		ve.fakeEngine = &fakeEngine{store: d.Store}
		d.Engine = ve
		d.Now = func() time.Time { return time.Unix(0, clock.Load()) }
	})
	f := newFixture(e)
	seedLists(t, e, f, 20) // > 1 KB, so gzip applies

	const path = "/api/schedules"
	get := func(inm, accept string) (int, string, int64) {
		t.Helper()
		h := map[string]string{"If-None-Match": inm, "Accept-Encoding": accept}
		before := ve.infos.Load()
		w := e.send(req{method: "GET", path: path, header: h})
		return w.Code, w.Header().Get("ETag"), ve.infos.Load() - before
	}
	code, tag, views := get("", "")
	if code != http.StatusOK || !strings.HasPrefix(tag, `"v`) || views != 20 {
		t.Fatalf("first GET: %d, ETag %s, %d views; want 200, a version tag, 20 views", code, tag, views)
	}
	if code, got, views := get(tag, ""); code != http.StatusNotModified || got != tag || views != 0 {
		t.Errorf("revalidation: %d, ETag %s, %d views; want 304, %s, 0", code, got, views, tag)
	}
	// A client without the tag gets the body rendered for it, from the cache.
	first := e.call("GET", path, nil, http.StatusOK)
	before := ve.infos.Load()
	again := e.call("GET", path, nil, http.StatusOK)
	if ve.infos.Load() != before || again.Body.String() != first.Body.String() ||
		again.Header().Get("X-Total-Count") != "20" || again.Header().Get("ETag") != tag {
		t.Errorf("cached 200: %d views, same body %v, X-Total-Count %s, ETag %s",
			ve.infos.Load()-before, again.Body.String() == first.Body.String(), again.Header().Get("X-Total-Count"), again.Header().Get("ETag"))
	}
	_, gzTag, _ := get("", "gzip")
	if gzTag != gzipTag(tag) {
		t.Errorf("gzip ETag %s, want %s", gzTag, gzipTag(tag))
	}
	if code, _, views := get(gzTag, "gzip"); code != http.StatusNotModified || views != 0 {
		t.Errorf("gzip revalidation: %d, %d views", code, views)
	}
	if code, _, _ := get(gzTag, ""); code != http.StatusOK {
		t.Errorf("the gzip tag without Accept-Encoding: gzip: %d, want 200", code)
	}

	// A write of another kind leaves the tag; the kinds shown move it.
	e.call("POST", "/api/notifications", map[string]any{"name": "other", "notif_type": "telegram",
		"config_json": `{"bot_token":"1:A","chat_id":"1"}`}, http.StatusCreated)
	if code, _, _ := get(tag, ""); code != http.StatusNotModified {
		t.Errorf("after a notification write: %d, want 304", code)
	}
	steps := []struct {
		what string
		do   func()
	}{
		{"a schedule write", func() {
			e.call("PUT", "/api/schedules/"+f.sched, map[string]any{"cron_expr": "0 4 * * *"}, http.StatusOK)
		}},
		{"a backup write (last run)", func() {
			put(t, e.store, state.Backup{ID: state.NewID(state.KindBackup), ScheduleID: f.sched, CreatedAt: time.Now()})
		}},
		{"the scheduler's version", func() { ve.version.Add(1) }},
		{"the next minute", func() { clock.Add(int64(time.Minute)) }},
	}
	for _, s := range steps {
		s.do()
		code, got, views := get(tag, "")
		if code != http.StatusOK || got == tag || views != 20 {
			t.Errorf("after %s: %d, ETag %s (was %s), %d views; want 200, a new tag, 20 views", s.what, code, got, tag, views)
		}
		tag = got
	}
	clock.Add(int64(59 * time.Second)) // same minute
	if code, _, _ := get(tag, ""); code != http.StatusNotModified {
		t.Errorf("later in the same minute: %d, want 304", code)
	}

	// Another URL of the same route never shares the tag.
	if other := e.call("GET", path+"?limit=5", nil, http.StatusOK).Header().Get("ETag"); other == tag {
		t.Errorf("%s and ?limit=5 share ETag %s", path, tag)
	}

	// Lists of other kinds: a write of their kind moves their tag.
	conns := e.call("GET", "/api/connections", nil, http.StatusOK).Header().Get("ETag")
	e.call("POST", "/api/connections", map[string]any{"name": "new-conn", "db_type": "postgresql", "host": "h",
		"port": 5432, "username": "u", "password": "p"}, http.StatusCreated)
	w := e.send(req{method: "GET", path: "/api/connections", header: map[string]string{"If-None-Match": conns}})
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "new-conn") || w.Header().Get("ETag") == conns {
		t.Errorf("connections after a create: %d, ETag %s (was %s)", w.Code, w.Header().Get("ETag"), conns)
	}
}

// TestSchedulesByConnection: ?connection_id= pages that connection's
// schedules in name order, and an ID no connection has lists none.
func TestSchedulesByConnection(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	seedLists(t, e, f, 12) // 12 schedules of f.conn
	other := idOf(t, e.call("POST", "/api/connections", map[string]any{"name": "other", "db_type": "postgresql",
		"host": "h", "port": 5432, "username": "u", "password": "p"}, http.StatusCreated).Body)
	err := e.store.Update(func(tx *state.Tx) error {
		sc, err := state.Get[state.Schedule](tx, f.sched)
		if err != nil {
			return err
		}
		sc.ID, sc.Name, sc.ConnectionID = state.NewID(state.KindSchedule), "a-other", other
		return state.Put(tx, sc)
	})
	if err != nil {
		t.Fatal(err)
	}
	all := listIDs(t, e.call("GET", "/api/schedules", nil, http.StatusOK))
	if len(all) != 13 {
		t.Fatalf("%d schedules, want 13", len(all))
	}
	w := e.call("GET", "/api/schedules?connection_id="+f.conn+"&limit=5&offset=3", nil, http.StatusOK)
	if got, want := listIDs(t, w), all[4:9]; strings.Join(got, ",") != strings.Join(want, ",") || w.Header().Get("X-Total-Count") != "12" {
		t.Errorf("page of %s: %v of %s, want %v of 12", f.conn, got, w.Header().Get("X-Total-Count"), want)
	}
	if got := listIDs(t, e.call("GET", "/api/schedules?connection_id="+other, nil, http.StatusOK)); len(got) != 1 || got[0] != all[0] {
		t.Errorf("schedules of the other connection: %v, want [%s]", got, all[0])
	}
	for _, id := range []string{"con_none", "a/b"} {
		w := e.call("GET", "/api/schedules?connection_id="+id, nil, http.StatusOK)
		if got := listIDs(t, w); len(got) != 0 || w.Header().Get("X-Total-Count") != "0" {
			t.Errorf("connection_id=%s: %v", id, got)
		}
	}
}

// TestBodyCacheBounds: the cache keeps at most its byte budget, evicting
// the oldest entries, never keeps an entry over its per-entry cap, and a
// new version of a key replaces the old one.
func TestBodyCacheBounds(t *testing.T) {
	c := newBodyCache(100, 60)
	body := func(n int, v string) *taggedBody { return &taggedBody{version: v, body: make([]byte, n)} }
	c.put("a", body(40, "1"))
	c.put("b", body(40, "1"))
	c.put("c", body(40, "1")) // evicts a
	if _, ok := c.get("a", "1"); ok {
		t.Error("a kept beyond the budget")
	}
	if _, ok := c.get("c", "1"); !ok || c.size != 80 {
		t.Errorf("c missing or size %d, want 80", c.size)
	}
	c.put("big", body(61, "1"))
	if _, ok := c.get("big", "1"); ok {
		t.Error("an entry over the per-entry cap was kept")
	}
	c.put("c", body(10, "2"))
	if _, ok := c.get("c", "1"); ok {
		t.Error("the old version of c still answers")
	}
	if _, ok := c.get("c", "2"); !ok || c.size != 50 || len(c.order) != 2 {
		t.Errorf("c v2: size %d, %d entries; want 50, 2", c.size, len(c.order))
	}
}
