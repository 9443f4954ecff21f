package api

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/state"
)

// fakeProgress is a ProgressSource whose jobs a test sets.
type fakeProgress struct {
	mu   sync.Mutex
	jobs []engine.Progress
	subs map[int]chan struct{}
	next int
	live atomic.Int32 // subscriptions not yet ended
}

func newFakeProgress() *fakeProgress { return &fakeProgress{subs: map[int]chan struct{}{}} }

func (f *fakeProgress) Progress(id string) (engine.Progress, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, j := range f.jobs {
		if j.ID == id {
			return j, true
		}
	}
	return engine.Progress{}, false
}

func (f *fakeProgress) RunningProgress() []engine.Progress {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]engine.Progress{}, f.jobs...)
}

func (f *fakeProgress) SubscribeProgress() (<-chan struct{}, func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch, id := make(chan struct{}, 1), f.next
	f.next++
	f.subs[id] = ch
	f.live.Add(1)
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.subs, id)
			f.mu.Unlock()
			f.live.Add(-1)
		})
	}
}

func (f *fakeProgress) set(jobs ...engine.Progress) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jobs = jobs
	for _, ch := range f.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// sseEvent is one parsed event; comment lines become event ":".
type sseEvent struct{ event, data string }

// openEvents connects to /api/events and returns a channel of its events.
func openEvents(tb testing.TB, ctx context.Context, url string, auth func(*http.Request)) (*http.Response, <-chan sseEvent) {
	tb.Helper()
	r, _ := http.NewRequestWithContext(ctx, "GET", url+"/api/events", nil)
	auth(r)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		tb.Fatalf("GET /api/events: %v", err)
	}
	out := make(chan sseEvent, 64)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, ":"):
				out <- sseEvent{event: ":"}
			case strings.HasPrefix(line, "event: "):
				ev.event = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[len("data: "):]
			case line == "" && ev.event != "":
				out <- ev
				ev = sseEvent{}
			}
		}
	}()
	return resp, out
}

func waitEvent(tb testing.TB, ch <-chan sseEvent, name string) sseEvent {
	tb.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				tb.Fatalf("stream ended before a %q event", name)
			}
			if ev.event == name {
				return ev
			}
		case <-deadline:
			tb.Fatalf("no %q event within 5 s", name)
		}
	}
}

// TestEventsStream: /api/events needs a session (bearer or cookie), starts
// with the running jobs' progress, reports a committed backup as a change,
// pushes progress when the engine signals it, and sends heartbeats.
func TestEventsStream(t *testing.T) {
	fp := newFakeProgress()
	e := newEnv(t, func(d *Deps) { d.Progress, d.EventsHeartbeat = fp, 50*time.Millisecond })
	srv := httptest.NewServer(e.h)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without a session: %d, want 401", resp.StatusCode)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fp.set(engine.Progress{ID: "bck_1", Kind: "backup", Phase: engine.PhaseDump, BytesRead: 10})
	resp, events := openEvents(t, ctx, srv.URL, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+e.token) })
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	first := waitEvent(t, events, "progress")
	var jobs []engine.Progress
	if err := json.Unmarshal([]byte(first.data), &jobs); err != nil || len(jobs) != 1 || jobs[0].BytesRead != 10 {
		t.Fatalf("first progress %q (%v)", first.data, err)
	}

	now := time.Now().UTC()
	put(t, e.store, state.Backup{ID: "bck_x", Status: state.StatusRunning, BackupType: "full", CreatedAt: now})
	if ev := waitEvent(t, events, "change"); ev.data != `{"kind":"backup","id":"bck_x","change":"created"}` {
		t.Errorf("change event data %q", ev.data)
	}
	fp.set(engine.Progress{ID: "bck_1", Kind: "backup", Phase: engine.PhaseUpload, BytesRead: 99})
	for {
		ev := waitEvent(t, events, "progress")
		_ = json.Unmarshal([]byte(ev.data), &jobs)
		if len(jobs) == 1 && jobs[0].BytesRead == 99 && jobs[0].Phase == engine.PhaseUpload {
			break
		}
	}
	waitEvent(t, events, ":")

	// The session cookie is accepted too.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	_, ev2 := openEvents(t, ctx2, srv.URL, func(r *http.Request) {
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.token})
	})
	waitEvent(t, ev2, "progress")

	// GET /api/backups/{id} carries the live progress while the job runs.
	w := e.call("GET", "/api/backups/bck_x", nil, http.StatusOK)
	if strings.Contains(w.Body.String(), `"progress"`) {
		t.Errorf("no job bck_x in progress, yet: %s", w.Body.String())
	}
	fp.set(engine.Progress{ID: "bck_x", Kind: "backup", Phase: engine.PhaseDump, BytesRead: 7})
	w = e.call("GET", "/api/backups/bck_x", nil, http.StatusOK)
	var got struct {
		ID       string           `json:"id"`
		Status   string           `json:"status"`
		Progress *engine.Progress `json:"progress"`
	}
	mustJSON(t, w, &got)
	if got.ID != "bck_x" || got.Status != state.StatusRunning || got.Progress == nil || got.Progress.BytesRead != 7 {
		t.Errorf("GET backup with progress: %s", w.Body.String())
	}
	if !strings.Contains(w.Body.String(), `"capabilities":{"point_in_time":false}`) {
		t.Errorf("a dump backup's capabilities: %s", w.Body.String())
	}
	if !strings.Contains(w.Body.String(), `"checks":[]`) {
		t.Errorf("a backup never checked has no empty checks list: %s", w.Body.String())
	}
}

// TestEventsNameRecords: change events name the record and the change,
// and GET /api/backups/{id} carries the backup's verify and drill history.
func TestEventsNameRecords(t *testing.T) {
	e := newEnv(t, func(d *Deps) { d.Progress = newFakeProgress() })
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, events := openEvents(t, ctx, srv.URL, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+e.token) })
	waitEvent(t, events, "progress")

	now := time.Now().UTC()
	b := state.Backup{ID: "bck_named", Status: state.StatusSuccess, BackupType: "full", CreatedAt: now}
	put(t, e.store, b)
	if ev := waitEvent(t, events, "change"); ev.data != `{"kind":"backup","id":"bck_named","change":"created"}` {
		t.Fatalf("change event %q after a create", ev.data)
	}
	at := now.Add(time.Minute)
	b.AddCheck(state.BackupCheck{Kind: state.CheckVerify, Mode: "deep", At: now, DurationMs: 12, Result: "passed"})
	b.AddCheck(state.BackupCheck{Kind: state.CheckDrill, At: at, DurationMs: 900, Result: "failed",
		Error: "row counts differ", RestoreID: "res_1", RowCounts: state.RowCountsDiffer, Tables: 2, Rows: 40})
	put(t, e.store, b)
	if ev := waitEvent(t, events, "change"); ev.data != `{"kind":"backup","id":"bck_named","change":"updated"}` {
		t.Fatalf("change event %q after an update", ev.data)
	}

	w := e.call("GET", "/api/backups/bck_named", nil, http.StatusOK)
	var got struct {
		Checks []state.BackupCheck `json:"checks"`
	}
	mustJSON(t, w, &got)
	if len(got.Checks) != 2 || got.Checks[0].Kind != "drill" || got.Checks[0].RowCounts != "differ" || got.Checks[0].Rows != 40 ||
		got.Checks[0].RestoreID != "res_1" || got.Checks[1].Mode != "deep" || got.Checks[1].DurationMs != 12 {
		t.Errorf("checks of GET /api/backups/bck_named: %s", w.Body.String())
	}
	// The list stays as the reference has it.
	if l := e.call("GET", "/api/backups", nil, http.StatusOK); strings.Contains(l.Body.String(), `"checks"`) {
		t.Errorf("the list carries checks: %s", l.Body.String())
	}

	if err := e.store.Update(func(tx *state.Tx) error { return state.Delete[state.Backup](tx, "bck_named") }); err != nil {
		t.Fatal(err)
	}
	if ev := waitEvent(t, events, "change"); ev.data != `{"kind":"backup","id":"bck_named","change":"deleted"}` {
		t.Fatalf("change event %q after a delete", ev.data)
	}
}

// TestEventsNoLeak: 100 clients that connect and drop, and 100 that are
// connected when the server shuts down (Deps.Done), leave no goroutine and
// no subscription behind.
func TestEventsNoLeak(t *testing.T) {
	fp := newFakeProgress()
	done := make(chan struct{})
	e := newEnv(t, func(d *Deps) { d.Progress, d.Done = fp, done })
	srv := httptest.NewServer(e.h)
	tr := &http.Transport{DisableKeepAlives: true}
	client := &http.Client{Transport: tr}
	ignore := goleak.IgnoreCurrent()

	connect := func(ctx context.Context) (*http.Response, error) {
		r, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/events", nil)
		r.Header.Set("Authorization", "Bearer "+e.token)
		return client.Do(r)
	}
	readFirst := func(resp *http.Response) error {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "event: progress") {
				return nil
			}
		}
		return sc.Err()
	}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for range 100 {
		wg.Go(func() {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			resp, err := connect(ctx)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			if err := readFirst(resp); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	tr.CloseIdleConnections()
	// Every handler of a client that went away has ended (the server is still up).
	if err := goleak.Find(ignore); err != nil {
		t.Fatalf("after 100 clients dropped: %v", err)
	}
	if n := fp.live.Load(); n != 0 {
		t.Fatalf("after 100 clients dropped: %d progress subscriptions left", n)
	}
	// The second 100 stay connected until the server says it is done.
	var open sync.WaitGroup
	ended := make(chan struct{}, 100)
	for range 100 {
		resp, err := connect(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := readFirst(resp); err != nil {
			t.Fatal(err)
		}
		open.Go(func() {
			defer resp.Body.Close()
			_ = readFirst(resp) // returns when the server ends the stream
			ended <- struct{}{}
		})
	}
	close(done)
	open.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(ended) != 100 {
		t.Errorf("%d of 100 streams ended on shutdown", len(ended))
	}
	srv.Close()
	tr.CloseIdleConnections()
	goleak.VerifyNone(t, ignore)
	if n := fp.live.Load(); n != 0 {
		t.Errorf("%d progress subscriptions left", n)
	}
}
