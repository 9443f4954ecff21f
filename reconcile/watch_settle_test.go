package reconcile

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// appliedPrunes lists the history entries that applied a plan with prunes.
func appliedPrunes(f *fixture) []string {
	var out []string
	for _, h := range f.r.Status().History {
		if h.Result == "applied" && !strings.Contains(h.Summary, " 0 prune") {
			out = append(out, h.Trigger+": "+h.Summary)
		}
	}
	return out
}

// TestSlowInPlaceWriteIsNotApplied writes jagad.yaml in place the way
// `cat > jagad.yaml` over a slow link does: half the file, a pause, the rest.
// The half file parses and would prune schedules; it must never be applied,
// and the operator's override must stay.
func TestSlowInPlaceWriteIsNotApplied(t *testing.T) {
	full := manySchedulesYAML(10)
	f := newFixture(t, nil, full)
	f.r.opts.SettleWindow = defaultSettleWindow // the real window, longer than the pause
	f.reload(t, "applied")
	suspend(t, f.store, "s08", false)
	f.run(t, fast)

	cut := strings.Index(full, "  - name: s06") // the half prunes s06..s09, 4 of 10: not held
	if p, err := f.r.PlanBytes([]byte(full[:cut])); err != nil || countKind(p, "schedule", Prune) != 4 || p.Held != "" {
		t.Fatalf("the half file must plan 4 prunes, not held: %v, %+v", err, p)
	}
	w, err := os.OpenFile(f.path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteString(full[:cut]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // the writer's pause: the scenario, not synchronisation
	if _, err := w.WriteString(full[cut:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	// The watcher reloads the whole file in the end.
	want := fileDigest([]byte(full))
	waitFor(t, "a watch reload of the whole file", func() bool {
		h := f.r.Status().History
		return len(h) > 0 && h[0].Trigger == "watch" && h[0].FileDigest == want
	})
	if got := appliedPrunes(f); len(got) > 0 {
		t.Errorf("a plan with prunes was applied from the half-written file: %q", got)
	}
	if n := len(snap(t, f.store).Schedules); n != 10 {
		t.Errorf("%d schedules, want 10", n)
	}
	if sch := schedule(t, f.store, "s08"); sch.Override == nil || sch.EffectiveEnabled() {
		t.Errorf("the override of s08 was lost: %+v", sch.Override)
	}
}

// TestPruneAppliesAfterSettleWindow: a real prune still applies, once the
// file has been stable for the settle window, through a reload and through
// the watcher.
func TestPruneAppliesAfterSettleWindow(t *testing.T) {
	full := manySchedulesYAML(10)
	fewer := full[:strings.Index(full, "  - name: s08")] // prunes s08 and s09

	t.Run("reload", func(t *testing.T) {
		f := newFixture(t, nil, full)
		f.r.opts.SettleWindow = defaultSettleWindow
		f.reload(t, "applied")
		f.write(t, fewer)
		start := time.Now()
		res := f.reload(t, "applied")
		if took := time.Since(start); took < defaultSettleWindow {
			t.Errorf("a plan with prunes was applied %s after the write, before the %s settle window", took, defaultSettleWindow)
		}
		if n := countKind(res.Plan, "schedule", Prune); n != 2 {
			t.Errorf("%d schedules pruned, want 2", n)
		}
		if n := len(snap(t, f.store).Schedules); n != 8 {
			t.Errorf("%d schedules, want 8", n)
		}
	})
	t.Run("watch", func(t *testing.T) {
		f := newFixture(t, nil, full)
		f.r.opts.SettleWindow = defaultSettleWindow
		f.reload(t, "applied")
		f.run(t, fast)
		start := time.Now()
		f.write(t, fewer)
		waitFor(t, "the prune", func() bool { return len(snap(t, f.store).Schedules) == 8 })
		if took := time.Since(start); took < defaultSettleWindow {
			t.Errorf("the prune was applied %s after the write, before the %s settle window", took, defaultSettleWindow)
		}
	})
}

// TestSettleGivesUpOnAFileThatKeepsChanging: a reload that waits for a
// stable file fails (keeping the last good config) once SettleMax passes.
func TestSettleGivesUpOnAFileThatKeepsChanging(t *testing.T) {
	full := manySchedulesYAML(10)
	f := newFixture(t, nil, full)
	f.r.opts.SettleWindow = 200 * time.Millisecond
	f.r.opts.SettleMax = 500 * time.Millisecond
	f.reload(t, "applied")
	// A writer that never stops flips one byte of a comment in place: every
	// read sees a whole, valid file that prunes, never the same one for long.
	fewer := full[:strings.Index(full, "  - name: s08")] + "#a\n"
	f.write(t, fewer)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		w, err := os.OpenFile(f.path, os.O_WRONLY, 0)
		if err != nil {
			done <- err
			return
		}
		defer w.Close()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				done <- nil
				return
			case <-tick.C:
				if _, err := w.WriteAt([]byte{"ab"[i%2]}, int64(len(fewer)-2)); err != nil {
					done <- err
					return
				}
			}
		}
	}()
	res := f.r.Reload(context.Background(), "test", false)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("writer: %v", err)
	}
	if res.Result != "failed" || res.Err == nil || !strings.Contains(res.Err.Error(), "kept changing") {
		t.Fatalf("reload = %s (%v), want failed: kept changing", res.Result, res.Err)
	}
	if n := len(snap(t, f.store).Schedules); n != 10 {
		t.Errorf("%d schedules, want 10 (the last good config)", n)
	}
}
