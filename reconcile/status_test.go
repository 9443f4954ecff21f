package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/jagad/jagad/state"
)

// recordKinds are the kinds a reload may write (the status record aside).
var recordKinds = []state.Kind{
	state.KindSettings, state.KindProvider, state.KindConnection,
	state.KindDatabase, state.KindNotification, state.KindSchedule,
}

func digestOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func TestBadFileKeepsLastGoodConfig(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(tb testing.TB, path string)
	}{
		{"missing", func(tb testing.TB, path string) {
			if err := os.Remove(path); err != nil {
				tb.Fatal(err)
			}
		}},
		{"unreadable", func(tb testing.TB, path string) {
			// A directory in its place cannot be read, even by root.
			if err := os.Remove(path); err != nil {
				tb.Fatal(err)
			}
			if err := os.Mkdir(path, 0o700); err != nil {
				tb.Fatal(err)
			}
		}},
		{"empty", func(tb testing.TB, path string) { writeFile(tb, path, "") }},
		{"syntax", func(tb testing.TB, path string) { writeFile(tb, path, baseYAML+"  - name: [oops\n") }},
		{"dangling reference", func(tb testing.TB, path string) {
			writeFile(tb, path, replace(tb, baseYAML, "connection: pg\n", "connection: nope\n"))
		}},
		{"unset variable", func(tb testing.TB, path string) {
			writeFile(tb, path, replace(tb, baseYAML, "${PG_PASSWORD}", "${NOT_SET_ANYWHERE}"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m := NewMetrics(reg)
			path := filepath.Join(t.TempDir(), "jagad.yaml")
			writeFile(t, path, baseYAML)
			f := newFixtureAt(t, nil, path, m)
			f.reload(t, "applied")
			good := f.r.Status()
			before := snap(t, f.store)
			feed, stop := f.store.Subscribe(recordKinds...)
			defer stop()

			tt.break_(t, path)
			res := f.reload(t, "failed")
			if res.Err == nil {
				t.Fatal("failed reload without an error")
			}
			if strings.Contains(res.Err.Error(), "s3cr3t") {
				t.Errorf("error reveals a secret: %v", res.Err)
			}
			if !reflect.DeepEqual(snap(t, f.store), before) {
				t.Error("a failed reload changed the store")
			}
			select {
			case <-feed:
				t.Error("a failed reload wrote records")
			default:
			}
			st := f.r.Status()
			if st.Healthy || st.LastError == "" || st.LastError != res.Err.Error() {
				t.Errorf("status: healthy %v, last error %q, want the reload's error", st.Healthy, st.LastError)
			}
			if st.Generation != good.Generation || st.FileDigest != good.FileDigest {
				t.Errorf("status moved off the last good config: gen %d digest %s", st.Generation, st.FileDigest)
			}
			if h := st.History[0]; h.Result != "failed" || h.Error == "" || h.Trigger != "test" {
				t.Errorf("history[0] = %+v", h)
			}
			if f.r.LastGood() == nil || f.r.LastGood().Connections[0].Name != "pg" {
				t.Error("LastGood lost the last good file")
			}
			if got := testutil.ToFloat64(m.reloads.WithLabelValues("failed")); got != 1 {
				t.Errorf("jagad_config_reloads_total{result=failed} = %v, want 1", got)
			}
			if got := testutil.ToFloat64(m.successful); got != 0 {
				t.Errorf("jagad_config_last_reload_successful = %v, want 0", got)
			}
			// The status survives a restart.
			r2, err := New(Options{Path: path, Store: f.store})
			if err != nil {
				t.Fatal(err)
			}
			if st2 := r2.Status(); st2.LastError != st.LastError || st2.Healthy {
				t.Errorf("restored status: %q healthy %v", st2.LastError, st2.Healthy)
			}

			// Fixing the file recovers.
			if fi, err := os.Stat(path); err == nil && fi.IsDir() {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			}
			writeFile(t, path, baseYAML)
			f.reload(t, "unchanged")
			if st := f.r.Status(); !st.Healthy || st.LastError != "" {
				t.Errorf("status after the fix: healthy %v error %q", st.Healthy, st.LastError)
			}
			if got := testutil.ToFloat64(m.successful); got != 1 {
				t.Errorf("jagad_config_last_reload_successful = %v, want 1", got)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	path := filepath.Join(t.TempDir(), "jagad.yaml")
	writeFile(t, path, baseYAML)
	f := newFixtureAt(t, nil, path, m)

	res := f.reload(t, "applied")
	st := f.r.Status()
	if st.Generation != 1 || st.FileDigest != digestOf(baseYAML) || !st.Healthy || st.Path != path {
		t.Errorf("after the first reload: %+v", st)
	}
	if st.Summary != res.Plan.Summary() || !strings.Contains(st.Summary, "6 create") {
		t.Errorf("summary = %q, plan %q", st.Summary, res.Plan.Summary())
	}
	if st.LastReloadAt == nil || !st.LastReloadAt.Equal(f.clock.Now()) || st.LastAppliedAt == nil {
		t.Errorf("times: reload %v applied %v, now %v", st.LastReloadAt, st.LastAppliedAt, f.clock.Now())
	}
	if st.GitCommit != "" {
		t.Errorf("git commit %q outside a work tree", st.GitCommit)
	}

	f.reload(t, "unchanged")
	if g := f.r.Status().Generation; g != 1 {
		t.Errorf("generation after an unchanged reload = %d, want 1", g)
	}
	f.apply(t, extraYAML)
	if st := f.r.Status(); st.Generation != 2 || st.FileDigest != digestOf(extraYAML) {
		t.Errorf("after a change: gen %d digest %s", st.Generation, st.FileDigest)
	}
	f.write(t, "version: 2\n")
	f.reload(t, "failed")
	if g := f.r.Status().Generation; g != 2 {
		t.Errorf("generation after a failed reload = %d, want 2", g)
	}
	if got := testutil.ToFloat64(m.generation); got != 2 {
		t.Errorf("jagad_config_generation = %v", got)
	}
	for result, want := range map[string]float64{"applied": 2, "unchanged": 1, "failed": 1, "held": 0} {
		if got := testutil.ToFloat64(m.reloads.WithLabelValues(result)); got != want {
			t.Errorf("jagad_config_reloads_total{result=%q} = %v, want %v", result, got, want)
		}
	}

	// The last 20 reloads are kept, newest first.
	f.write(t, extraYAML)
	for range 25 {
		f.reload(t, "unchanged")
	}
	h := f.r.Status().History
	if len(h) != historySize {
		t.Fatalf("history has %d entries, want %d", len(h), historySize)
	}
	if !h[0].At.Equal(f.clock.Now()) || !h[0].At.After(h[19].At) {
		t.Errorf("history is not newest first: %v … %v", h[0].At, h[19].At)
	}
	if h[0].Generation != 2 || h[0].FileDigest != digestOf(extraYAML) {
		t.Errorf("history[0] = %+v", h[0])
	}

	// A new reconciler on the same store resumes the generation.
	r2, err := New(Options{Path: path, Store: f.store, Now: f.clock.Now, Env: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	if g := r2.Status().Generation; g != 2 {
		t.Errorf("restored generation = %d, want 2", g)
	}
}

func TestStatusDuration(t *testing.T) {
	f := newFixture(t, nil, baseYAML)
	// The clock moves 1.5 s while the file is read: the duration is measured with it.
	calls := 0
	f.r.opts.Now = func() time.Time {
		calls++
		return f.clock.Now().Add(time.Duration(calls) * 1500 * time.Millisecond)
	}
	f.r.Reload(t.Context(), "test", false)
	if d := f.r.Status().DurationMs; d < 1500 {
		t.Errorf("duration = %d ms, want >= 1500", d)
	}
}

func git(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestStatusGitCommit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	git(t, dir, "init", "-q")
	path := filepath.Join(dir, "jagad.yaml")
	writeFile(t, path, baseYAML)
	f := newFixtureAt(t, nil, path, nil)

	// Not committed yet: no commit to report.
	f.reload(t, "applied")
	if c := f.r.Status().GitCommit; c != "" {
		t.Errorf("untracked file: commit %q", c)
	}
	git(t, dir, "add", "jagad.yaml")
	git(t, dir, "commit", "-q", "-m", "one")
	first := git(t, dir, "rev-parse", "HEAD")
	f.reload(t, "unchanged")
	if c := f.r.Status().GitCommit; c != first {
		t.Errorf("committed file: commit %q, want %q", c, first)
	}

	// Edited but not committed: dirty.
	f.apply(t, extraYAML)
	if c := f.r.Status().GitCommit; c != first+"-dirty" {
		t.Errorf("dirty file: commit %q, want %q", c, first+"-dirty")
	}
	if h := f.r.Status().History[0]; h.GitCommit != first+"-dirty" {
		t.Errorf("history entry commit %q", h.GitCommit)
	}
	// Committing the same content: clean again, at the new commit.
	git(t, dir, "commit", "-q", "-am", "two")
	second := git(t, dir, "rev-parse", "HEAD")
	f.reload(t, "unchanged")
	if c := f.r.Status().GitCommit; c != second {
		t.Errorf("after committing the edit: commit %q, want %q", c, second)
	}
}

func TestUnchangedReloadWritesNothing(t *testing.T) {
	f := newFixture(t, dirStore(t, t.TempDir()), extraYAML)
	t.Cleanup(func() { _ = f.store.Close() })
	f.reload(t, "applied")
	f.reload(t, "unchanged") // settles the status record
	for i := range 3 {
		// An API write to a planned kind makes the reload read and diff
		// the whole store again (no shortcut), and still write nothing.
		if i > 0 {
			mustUpdate(t, f.store, func(tx *state.Tx) error {
				return state.Put(tx, state.Connection{Meta: apiMeta(fmt.Sprintf("conn_api%016d", 100+i)), ConnectionSpec: state.ConnectionSpec{Name: fmt.Sprintf("api-%d", i)}})
			})
		}
		feed, stop := f.store.Subscribe() // every kind, the status record included
		res := f.reload(t, "unchanged")
		stop()
		if res.Plan.Changes() != 0 || len(res.Plan.Items) != 13 {
			t.Fatalf("unchanged plan: %s", res.Plan.Summary())
		}
		select {
		case <-feed:
			t.Fatalf("unchanged reload %d wrote to the store", i)
		default:
		}
	}
	// The feed does work: a change is seen.
	feed, stop := f.store.Subscribe()
	defer stop()
	f.apply(t, baseYAML)
	select {
	case <-feed:
	default:
		t.Fatal("no change notification for an applied reload")
	}
}
