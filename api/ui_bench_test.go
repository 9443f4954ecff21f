package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/state"
)

// uiBenchEnv is a dashboard over 10,000 backups of the last 20 days (one
// in 20 failed, each with a log of about 1 KB), all of one schedule.
func uiBenchEnv(b *testing.B) (*env, fixture) {
	b.Helper()
	e := newEnv(b, func(d *Deps) { d.UI = true })
	f := newFixture(e)
	const n = 10_000
	now := time.Now().UTC()
	log := strings.Repeat("DUMP: a line of a realistic backup log, about eighty characters long......\n", 12)
	for start := 0; start < n; start += 500 {
		err := e.store.Update(func(tx *state.Tx) error {
			for i := start; i < min(n, start+500); i++ {
				at := now.Add(-time.Duration(n-i) * 170 * time.Second)
				status := state.StatusSuccess
				if i%20 == 7 {
					status = state.StatusFailed
				}
				bk := state.Backup{ID: fmt.Sprintf("bck_%020d", i), ConnectionID: f.conn, DatabaseID: f.db,
					ScheduleID: f.sched, ConnectionName: "prod-pg", DatabaseName: "myapp", ScheduleName: "nightly",
					DBType: "postgresql", BackupType: "full", Status: status, SizeBytes: int64(1e6 + i*100),
					StoredSizeBytes: int64(3e5 + i*30), DurationMs: int64(2000 + i%500), LogOutput: log,
					StoragePath: fmt.Sprintf("backups/prod-pg/myapp/bck_%d.pgdump.zst", i),
					StartedAt:   &at, CompletedAt: &at, CreatedAt: at}
				if err := state.Put(tx, bk); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return e, f
}

// benchPage renders a dashboard page through the whole handler (session
// check, routing, store reads, template) and reports its p99 server time and
// its weight with the page's CSS and script.
func benchPage(b *testing.B, e *env, path string) {
	b.Helper()
	get := func(p string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", p, nil)
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.token})
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("GET %s: %d", p, w.Code)
		}
		return w
	}
	weight := get(path).Body.Len() + get("/static/app.css").Body.Len() + get("/static/app.js").Body.Len() +
		get("/static/icon.svg").Body.Len()
	var lats []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		get(path)
		lats = append(lats, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lats)
	b.ReportMetric(float64(lats[(len(lats)-1)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(weight)/1024, "page-KiB")
}

func BenchmarkDashboardOverview(b *testing.B) {
	e, _ := uiBenchEnv(b)
	benchPage(b, e, "/")
}

func BenchmarkDashboardBackups(b *testing.B) {
	e, _ := uiBenchEnv(b)
	benchPage(b, e, "/backups")
}

// BenchmarkDashboardBackupsFailedDeep filters on status (not indexed) and
// pages deep.
func BenchmarkDashboardBackupsFailedDeep(b *testing.B) {
	e, _ := uiBenchEnv(b)
	benchPage(b, e, "/backups?status=failed&page=8")
}

func BenchmarkDashboardBackupDetail(b *testing.B) {
	e, _ := uiBenchEnv(b)
	benchPage(b, e, "/backups/bck_00000000000000009999")
}

// fullScanFailedPage is the baseline the status index replaces: the
// dashboard's listing before schema 3, which paged through the index of
// all backups 500 at a time, decoding every record to keep those with the
// status, until the page was filled.
func fullScanFailedPage(tx *state.Tx, status string, page, perPage int) ([]state.Backup, error) {
	skip := (page - 1) * perPage
	var out []state.Backup
	const chunk = 500
	for off := 0; ; off += chunk {
		bs, err := tx.ListBackups(state.BackupQuery{Limit: chunk, Offset: off})
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			if b.Status != status {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			if len(out) == perPage+1 {
				return out, nil
			}
			out = append(out, b)
		}
		if len(bs) < chunk {
			return out, nil
		}
	}
}

// BenchmarkBackupsFilteredDeepVsFullScan reads page 8 of the failed backups
// (and their total) through the status index and through the full-scan
// baseline in the same run, on the same store, and reports both p99s and
// their ratio (fullscan/indexed).
func BenchmarkBackupsFilteredDeepVsFullScan(b *testing.B) {
	e, _ := uiBenchEnv(b)
	const page, perPage = 8, 50
	indexed := func() ([]state.Backup, error) {
		var bs []state.Backup
		err := e.store.View(func(tx *state.Tx) (err error) {
			q := state.BackupQuery{Status: state.StatusFailed, Limit: perPage + 1, Offset: (page - 1) * perPage}
			if bs, err = tx.ListBackups(q); err != nil {
				return err
			}
			if n, err := tx.CountBackups(q); err != nil || n != 500 {
				return fmt.Errorf("count %d, %v; want 500", n, err)
			}
			return nil
		})
		return bs, err
	}
	scan := func() ([]state.Backup, error) {
		var bs []state.Backup
		err := e.store.View(func(tx *state.Tx) (err error) {
			bs, err = fullScanFailedPage(tx, state.StatusFailed, page, perPage)
			return err
		})
		return bs, err
	}
	want, err := scan()
	if err != nil {
		b.Fatal(err)
	}
	if got, err := indexed(); err != nil || !slices.EqualFunc(got, want, func(x, y state.Backup) bool { return x.ID == y.ID }) {
		b.Fatalf("indexed page differs from the full scan's: %d vs %d backups, %v", len(got), len(want), err)
	}
	var latIx, latScan []time.Duration
	b.ResetTimer()
	for b.Loop() {
		for _, run := range []struct {
			fn  func() ([]state.Backup, error)
			lat *[]time.Duration
		}{{indexed, &latIx}, {scan, &latScan}} {
			start := time.Now()
			if _, err := run.fn(); err != nil {
				b.Fatal(err)
			}
			*run.lat = append(*run.lat, time.Since(start))
		}
	}
	b.StopTimer()
	p99 := func(l []time.Duration) float64 {
		slices.Sort(l)
		return float64(l[(len(l)-1)*99/100].Microseconds()) / 1000
	}
	ix, sc := p99(latIx), p99(latScan)
	b.ReportMetric(ix, "indexed-p99-ms")
	b.ReportMetric(sc, "fullscan-p99-ms")
	b.ReportMetric(sc/ix, "ratio")
}
