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

// saver writes the file and counts stalls: gaps since a save began long
// enough for the debounce to fire. The scheduler can stall a test that long
// on a busy machine, and each stall may cost one reload the test did not
// ask for.
type saver struct {
	f        *fixture
	debounce time.Duration
	last     time.Time // when the last save began; zero once its gap is counted
	stalls   int
}

// gap counts the gap since the last save began if it is a stall (once).
func (s *saver) gap() {
	if !s.last.IsZero() && time.Since(s.last) >= s.debounce {
		s.stalls++
		s.last = time.Time{}
	}
}

func (s *saver) save(tb testing.TB, content string) {
	tb.Helper()
	s.gap()
	s.last = time.Now()
	writeFile(tb, s.f.path, content)
}

// waitQuiet waits until no reload has been recorded for quiet: the reloads
// a burst of saves causes have all happened.
func (f *fixture) waitQuiet(tb testing.TB, quiet time.Duration) {
	tb.Helper()
	n, since := len(f.r.Status().History), time.Now()
	for deadline := time.Now().Add(10 * time.Second); time.Since(since) < quiet; time.Sleep(10 * time.Millisecond) {
		if m := len(f.r.Status().History); m != n {
			n, since = m, time.Now()
		}
		if time.Now().After(deadline) {
			tb.Fatalf("reloads never stopped: %+v", f.r.Status().History)
		}
	}
}

func TestWatchCoalescesBursts(t *testing.T) {
	const debounce = 300 * time.Millisecond
	f := newFixture(t, nil, cronYAML(t, 0))
	f.reload(t, "applied")
	f.run(t, WatchOptions{Debounce: debounce, Resync: -1, Settle: 20 * time.Millisecond})
	sv := &saver{f: f, debounce: debounce}
	for n := 1; n <= 10; n++ { // ten saves back to back
		sv.save(t, cronYAML(t, n))
	}
	stalls := sv.stalls
	f.waitCron(t, 10)
	f.waitQuiet(t, 2*debounce) // a late reload shows itself
	// One reload, or two when the watcher saw the last save's events in two
	// debounce windows; a stall of the test between saves may add one each.
	if n := f.reloadsBy("watch"); n < 1 || n > 2+stalls {
		t.Errorf("ten saves caused %d reloads, want 1 or 2 (+%d for stalls)", n, stalls)
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
	const debounce = 300 * time.Millisecond
	f := newFixture(t, nil, cronYAML(t, 0))
	f.reload(t, "applied")
	f.run(t, WatchOptions{Debounce: debounce, MaxWait: 400 * time.Millisecond, Resync: -1, Settle: 20 * time.Millisecond})
	// Save every 40 ms, always within the debounce, until a reload comes
	// that no stall of this test can explain: only MaxWait can cause it.
	// The count is read before the gap is measured, so a debounce reload
	// racing the check is always covered by a counted stall.
	sv := &saver{f: f, debounce: debounce}
	for n, start := 1, time.Now(); ; n++ {
		reloads := f.reloadsBy("watch")
		sv.gap()
		if reloads > sv.stalls {
			return
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("10 s of saves 40 ms apart caused %d reloads, %d explained by stalls (MaxWait 400 ms)", reloads, sv.stalls)
		}
		sv.save(t, cronYAML(t, n%50+1))
		time.Sleep(40 * time.Millisecond) // the writer's pace, not a wait for the watcher
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
