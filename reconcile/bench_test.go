package reconcile

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/jagad/jagad/state"
)

// BenchmarkReload1000 validates, plans and applies a file with 1,000
// connections (each with a database) and 1,000 schedules into an empty
// on-disk store. Goal: < 1 s.
func BenchmarkReload1000(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "jagad.yaml")
	writeFile(b, path, bigYAML(1000, "bench"))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		s := dirStore(b, filepath.Join(dir, fmt.Sprintf("store%d", i)))
		r, err := New(Options{Path: path, Store: s, Env: testEnv})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res := r.Reload(context.Background(), "bench", false)
		b.StopTimer()
		if res.Result != "applied" || res.Plan.Count(Create) != 3001 {
			b.Fatalf("reload = %s (%v), %s", res.Result, res.Err, res.Plan.Summary())
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// appliedBig returns a reconciler that has applied bigYAML(1000) into an
// on-disk store, and the store, closed at cleanup.
func appliedBig(b *testing.B) (*Reconciler, *state.Store) {
	b.Helper()
	dir := b.TempDir()
	path := filepath.Join(dir, "jagad.yaml")
	writeFile(b, path, bigYAML(1000, "bench"))
	s := dirStore(b, filepath.Join(dir, "store"))
	b.Cleanup(func() { s.Close() })
	r, err := New(Options{Path: path, Store: s, Env: testEnv})
	if err != nil {
		b.Fatal(err)
	}
	if res := r.Reload(context.Background(), "bench", false); res.Result != "applied" {
		b.Fatalf("first reload: %s %v", res.Result, res.Err)
	}
	return r, s
}

// BenchmarkReloadUnchanged reloads the same 1,000-record file again. Goal:
// < 50 ms, and nothing is written.
func BenchmarkReloadUnchanged(b *testing.B) {
	r, s := appliedBig(b)
	r.Reload(context.Background(), "bench", false)
	feed, stop := s.Subscribe()
	defer stop()
	b.ReportAllocs()
	for b.Loop() {
		if res := r.Reload(context.Background(), "bench", false); res.Result != "unchanged" {
			b.Fatalf("reload: %s %v", res.Result, res.Err)
		}
	}
	select {
	case <-feed:
		b.Fatal("an unchanged reload wrote to the store")
	default:
	}
}

// BenchmarkReloadUnchangedFullPlan is BenchmarkReloadUnchanged when an API
// write since the last reload makes it read and diff the whole store.
func BenchmarkReloadUnchangedFullPlan(b *testing.B) {
	r, s := appliedBig(b)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		mustUpdate(b, s, func(tx *state.Tx) error {
			return tx.PutSettings(state.Settings{Values: map[string]string{"mysql_path": "/usr/bin/mysql"}})
		})
		b.StartTimer()
		if res := r.Reload(context.Background(), "bench", false); res.Result != "unchanged" {
			b.Fatalf("reload: %s %v", res.Result, res.Err)
		}
	}
}
