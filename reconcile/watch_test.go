package reconcile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// cronYAML is baseYAML with the schedule's cron at minute n.
func cronYAML(tb testing.TB, n int) string {
	return replace(tb, baseYAML, `"0 2 * * *"`, fmt.Sprintf(`"%d 2 * * *"`, n))
}

// run starts the watcher; it stops at the end of the test.
func (f *fixture) run(tb testing.TB, o WatchOptions) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.r.Run(ctx, o) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("run: %v", err)
		}
	})
	// Run serves triggers only once its watch is in place: a reload by
	// trigger proves that later saves are seen.
	f.r.Trigger("probe")
	deadline := time.Now().Add(5 * time.Second)
	for f.reloadsBy("probe") == 0 {
		if time.Now().After(deadline) {
			tb.Fatal("the watcher never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitCron waits until the store's schedule has the cron of minute n.
func (f *fixture) waitCron(tb testing.TB, n int) {
	tb.Helper()
	want := fmt.Sprintf("%d 2 * * *", n)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if schedule(tb, f.store, "nightly").CronExpr == want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	tb.Fatalf("the store never got cron %q (status %+v)", want, f.r.Status().History)
}

// reloadsBy counts the history entries of a trigger.
func (f *fixture) reloadsBy(trigger string) int {
	n := 0
	for _, h := range f.r.Status().History {
		if h.Trigger == trigger {
			n++
		}
	}
	return n
}

var fast = WatchOptions{Debounce: 50 * time.Millisecond, Resync: -1, Settle: 20 * time.Millisecond}

func TestWatchEditorSaves(t *testing.T) {
	saves := []struct {
		name string
		save func(tb testing.TB, path, content string)
	}{
		{"in place", func(tb testing.TB, path, content string) { writeFile(tb, path, content) }},
		{"temp file and rename", func(tb testing.TB, path, content string) {
			tmp := filepath.Join(filepath.Dir(path), ".jagad.yaml.tmp")
			writeFile(tb, tmp, content)
			if err := os.Rename(tmp, path); err != nil {
				tb.Fatal(err)
			}
		}},
	}
	for _, s := range saves {
		t.Run(s.name, func(t *testing.T) {
			f := newFixture(t, nil, cronYAML(t, 0))
			f.reload(t, "applied")
			f.run(t, fast)
			for n := 1; n <= 3; n++ {
				s.save(t, f.path, cronYAML(t, n))
				f.waitCron(t, n)
			}
		})
	}
}

// TestWatchConfigMapSwap follows a Kubernetes ConfigMap volume: the file is
// a symlink through ..data, which is swapped atomically to a new directory.
func TestWatchConfigMapSwap(t *testing.T) {
	dir := t.TempDir()
	version := func(n int) {
		ts := fmt.Sprintf("..2026_01_01_00_00_%02d.%d", n, n)
		if err := os.Mkdir(filepath.Join(dir, ts), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, ts, "jagad.yaml"), cronYAML(t, n))
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(ts, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
		if n > 0 { // the old version goes, as the kubelet removes it
			if err := os.RemoveAll(filepath.Join(dir, fmt.Sprintf("..2026_01_01_00_00_%02d.%d", n-1, n-1))); err != nil {
				t.Fatal(err)
			}
		}
	}
	version(0)
	path := filepath.Join(dir, "jagad.yaml")
	if err := os.Symlink(filepath.Join("..data", "jagad.yaml"), path); err != nil {
		t.Fatal(err)
	}
	f := newFixtureAt(t, nil, path, nil)
	f.reload(t, "applied")
	f.run(t, fast)
	for n := 1; n <= 3; n++ {
		version(n)
		f.waitCron(t, n)
	}
	if n := f.reloadsBy("watch"); n < 3 {
		t.Errorf("%d watch reloads for 3 swaps", n)
	}
}

func TestWatchCoalescesBursts(t *testing.T) {
	f := newFixture(t, nil, cronYAML(t, 0))
	f.reload(t, "applied")
	f.run(t, WatchOptions{Debounce: 300 * time.Millisecond, Resync: -1, Settle: 20 * time.Millisecond})
	start := time.Now()
	for n := 1; n <= 10; n++ {
		writeFile(t, f.path, cronYAML(t, n))
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("ten saves in %v", time.Since(start))
	f.waitCron(t, 10)
	time.Sleep(400 * time.Millisecond) // let a late reload show itself
	if n := f.reloadsBy("watch"); n < 1 || n > 2 {
		t.Errorf("ten saves caused %d reloads, want 1 or 2", n)
	}
	if got := schedule(t, f.store, "nightly").CronExpr; got != "10 2 * * *" {
		t.Errorf("final cron %q: the last save must win", got)
	}
}

func TestTriggerReloads(t *testing.T) {
	f := newFixture(t, nil, cronYAML(t, 0))
	f.reload(t, "applied")
	f.run(t, WatchOptions{Debounce: time.Hour, Resync: -1})
	// With an hour of debounce only the trigger can apply the change in time.
	f.write(t, cronYAML(t, 7))
	f.r.Trigger("sighup")
	f.waitCron(t, 7)
	if h := f.r.Status().History[0]; h.Trigger != "sighup" || h.Result != "applied" {
		t.Errorf("history[0] = %+v", h)
	}
}

func TestResyncReloads(t *testing.T) {
	f := newFixture(t, nil, cronYAML(t, 0))
	f.reload(t, "applied")
	f.run(t, WatchOptions{Debounce: time.Hour, Resync: 50 * time.Millisecond})
	f.write(t, cronYAML(t, 8))
	f.waitCron(t, 8)
	if f.reloadsBy("resync") == 0 {
		t.Error("no resync reload in the history")
	}
}

// TestWatchMaxWait: a file written without pause is still reloaded while the
// writes go on, after at most MaxWait.
func TestWatchMaxWait(t *testing.T) {
	f := newFixture(t, nil, cronYAML(t, 0))
	f.reload(t, "applied")
	f.run(t, WatchOptions{Debounce: 300 * time.Millisecond, MaxWait: 400 * time.Millisecond, Resync: -1, Settle: 20 * time.Millisecond})
	deadline := time.Now().Add(1500 * time.Millisecond)
	for n := 1; time.Now().Before(deadline); n++ {
		writeFile(t, f.path, cronYAML(t, n%50+1))
		time.Sleep(40 * time.Millisecond) // always within the debounce
	}
	if n := f.reloadsBy("watch"); n < 1 {
		t.Fatalf("1.5 s of saves 40 ms apart caused no reload (MaxWait 400 ms)")
	}
}

// TestWatchDirAppearsLater: a config dir that does not exist when the
// watcher starts (a git-sync sidecar creates it later) is watched once it
// appears, its file loaded, and later saves seen; also after the dir is
// removed and created again.
func TestWatchDirAppearsLater(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gitsync", "repo")
	f := newFixtureAt(t, nil, filepath.Join(dir, "jagad.yaml"), nil)
	f.reload(t, "failed") // no file, no dir
	o := fast
	o.Rewatch = 20 * time.Millisecond
	f.run(t, o) // runs, and serves triggers, without its directory

	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, f.path, cronYAML(t, 1))
	deadline := time.Now().Add(5 * time.Second)
	for len(snap(t, f.store).Schedules) == 0 { // the schedule arrives with the first load
		if time.Now().After(deadline) {
			t.Fatalf("the file in the new dir was never loaded: %+v", f.r.Status().History)
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.waitCron(t, 1)
	writeFile(t, f.path, cronYAML(t, 2))
	f.waitCron(t, 2)

	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the removal is seen, the rewatch fails a few times
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, f.path, cronYAML(t, 3))
	f.waitCron(t, 3)
}
