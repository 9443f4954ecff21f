package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/jagad/jagad/state"
)

// BenchmarkListSchedules: GET /api/schedules over 1,000 schedules through the
// full handler (auth, routing, JSON, version ETag, body cache, gzip), with an
// engine that has a scheduler version: unpaginated, one page of 50 and the
// unpaginated list gzipped, each rendered anew (the scheduler version moves
// before every request, as after a write: a cache miss); a poller's 304 and
// the unpaginated list from the body cache (nothing moves). Each case after
// the first reports its ns/op and allocated B/op as a ratio to the
// unpaginated case of the same run (x-ns/op, x-B/op), and the bytes it put
// on the wire.
func BenchmarkListSchedules(b *testing.B) {
	ve := &versionedEngine{}
	e := newEnv(b, func(d *Deps) {
		ve.fakeEngine = &fakeEngine{store: d.Store}
		d.Engine = ve
	})
	f := newFixture(e)
	seedSchedules(b, e, f, 1000)
	// The 304 case sends the tag current when it starts (the cases before
	// it moved the version).
	tagNow := func() string { return e.call("GET", "/api/schedules", nil, http.StatusOK).Header().Get("ETag") }
	var base struct{ ns, bytes float64 }
	for _, bc := range []struct {
		name   string
		path   string
		header map[string]string
		want   int
		miss   bool // move the scheduler version before each request
	}{
		{"unpaginated", "/api/schedules", nil, http.StatusOK, true},
		{"limit50", "/api/schedules?limit=50", nil, http.StatusOK, true},
		{"304", "/api/schedules", map[string]string{"If-None-Match": ""}, http.StatusNotModified, false},
		{"unpaginated-cached", "/api/schedules", nil, http.StatusOK, false},
		{"unpaginated-gzip", "/api/schedules", map[string]string{"Accept-Encoding": "gzip"}, http.StatusOK, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", bc.path, nil)
			r.Header.Set("Authorization", "Bearer "+e.token)
			for k, v := range bc.header {
				if k == "If-None-Match" {
					v = tagNow()
				}
				r.Header.Set(k, v)
			}
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			var wire int
			for b.Loop() {
				if bc.miss {
					ve.version.Add(1)
				}
				w := httptest.NewRecorder()
				e.h.ServeHTTP(w, r)
				if w.Code != bc.want {
					b.Fatalf("status %d, want %d", w.Code, bc.want)
				}
				wire = w.Body.Len()
			}
			runtime.ReadMemStats(&after)
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			bytes := float64(after.TotalAlloc-before.TotalAlloc) / float64(b.N)
			b.ReportMetric(float64(wire), "wire-B/op")
			if bc.name == "unpaginated" {
				base.ns, base.bytes = ns, bytes
				return
			}
			if base.ns == 0 {
				return // run alone (-bench .../304): no baseline in this run
			}
			b.ReportMetric(ns/base.ns, "x-ns/op")
			b.ReportMetric(bytes/base.bytes, "x-B/op")
		})
	}
}

// seedSchedules adds n-1 clones of the fixture's schedule.
func seedSchedules(tb testing.TB, e *env, f fixture, n int) {
	tb.Helper()
	err := e.store.Update(func(tx *state.Tx) error {
		sc, err := state.Get[state.Schedule](tx, f.sched)
		if err != nil {
			return err
		}
		for i := 1; i < n; i++ {
			sc.ID, sc.Name = state.NewID(state.KindSchedule), fmt.Sprintf("sched-%04d", i)
			if err := state.Put(tx, sc); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}
