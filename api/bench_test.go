package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// benchEnv is an API over a real store holding n backups.
func benchEnv(b *testing.B, n int) *env {
	b.Helper()
	e := newEnv(b)
	f := newFixture(e)
	seedBackups(b, e.store, f, n)
	return e
}

func benchGET(b *testing.B, e *env, path string) {
	b.Helper()
	r := httptest.NewRequest("GET", path, nil)
	r.Header.Set("Authorization", "Bearer "+e.token)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkListBackups: GET /api/backups?limit=50 through the full handler
// (auth, routing, JSON) over 10,000 backups in a real store.
func BenchmarkListBackups(b *testing.B) {
	benchGET(b, benchEnv(b, 10_000), "/api/backups?limit=50")
}

// BenchmarkListBackupsFiltered pages deep into one database's backups.
func BenchmarkListBackupsFiltered(b *testing.B) {
	e := benchEnv(b, 10_000)
	var db string
	for _, d := range must(b, e, "/api/backups?limit=1") {
		db = d.DatabaseID
	}
	benchGET(b, e, "/api/backups?limit=50&offset=5000&database_id="+db)
}

func must(b *testing.B, e *env, path string) []backupView {
	var list []backupView
	mustJSON(b, e.call("GET", path, nil, 200), &list)
	return list
}

// BenchmarkStats: GET /api/backups/stats over 10,000 backups.
func BenchmarkStats(b *testing.B) {
	benchGET(b, benchEnv(b, 10_000), "/api/backups/stats")
}

// BenchmarkLoadP99 drives a real HTTP server at 200 requests/s for 5 s
// (list, stats and schedules in turn, each authenticated) and reports the
// latency percentiles. It runs the fixed load once, whatever b.N is.
func BenchmarkLoadP99(b *testing.B) {
	e := benchEnv(b, 10_000)
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	paths := []string{"/api/backups?limit=50", "/api/backups/stats", "/api/schedules"}
	const rate, dur = 200, 5 * time.Second
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	b.ResetTimer()
	var (
		mu   sync.Mutex
		lats []time.Duration
		errs int
		wg   sync.WaitGroup
	)
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	for i := 0; i < rate*int(dur/time.Second); i++ {
		<-tick.C
		wg.Add(1)
		go func(path string) {
			defer wg.Done()
			req, _ := http.NewRequest("GET", srv.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+e.token)
			start := time.Now()
			resp, err := client.Do(req)
			if err == nil {
				drain(resp)
			}
			d := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || resp.StatusCode != 200 {
				errs++
				return
			}
			lats = append(lats, d)
		}(paths[i%len(paths)])
	}
	wg.Wait()
	b.StopTimer()
	if errs > 0 {
		b.Fatalf("%d requests failed", errs)
	}
	slices.Sort(lats)
	pct := func(p float64) float64 { return float64(lats[int(p*float64(len(lats)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(lats[len(lats)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(len(lats)), "requests")
}

func drain(resp *http.Response) {
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
}
