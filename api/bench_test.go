package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
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
