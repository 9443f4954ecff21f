package reconcile

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jagad/jagad/state"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/plans")

// childEnv selects a subprocess role when the test binary re-executes itself.
const childEnv = "JAGAD_RECONCILE_TEST_CHILD"

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		os.Exit(runChild(role))
	}
	// Badger stops all its goroutines on Close, so no ignores are needed
	// as long as every test closes its store (t.Cleanup does).
	goleak.VerifyTestMain(m)
}

func testKey() []byte { return bytes.Repeat([]byte{7}, 32) }

// testEnv resolves the ${VAR}s of the test files.
func testEnv(name string) (string, bool) {
	switch name {
	case "PG_PASSWORD":
		return "s3cr3t-pg", true
	case "HOOK_URL":
		return "https://hooks.example.com/jagad", true
	}
	return "", false
}

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// memStore opens an in-memory store closed at the end of the test.
func memStore(tb testing.TB) *state.Store {
	tb.Helper()
	s, err := state.Open(state.Options{InMemory: true, MasterKey: testKey()})
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// dirStore opens a Badger store on dir; the caller closes it.
func dirStore(tb testing.TB, dir string) *state.Store {
	tb.Helper()
	s, err := state.Open(state.Options{Dir: dir, MasterKey: testKey(), GCInterval: -1})
	if err != nil {
		tb.Fatalf("open store %s: %v", dir, err)
	}
	return s
}

// fixture is a reconciler on a config file in a temp dir.
type fixture struct {
	path  string
	store *state.Store
	clock *clock
	r     *Reconciler
}

func newFixture(tb testing.TB, store *state.Store, content string) *fixture {
	tb.Helper()
	dir := tb.TempDir()
	path := filepath.Join(dir, "jagad.yaml")
	if content != "" {
		writeFile(tb, path, content)
	}
	return newFixtureAt(tb, store, path, nil)
}

func newFixtureAt(tb testing.TB, store *state.Store, path string, m *Metrics) *fixture {
	tb.Helper()
	if store == nil {
		store = memStore(tb)
	}
	c := newClock()
	// A short settle window keeps the tests that prune quick; the tests of
	// the settle check itself use the default.
	r, err := New(Options{Path: path, Store: store, Now: c.Now, Env: testEnv, Metrics: m, SettleWindow: 20 * time.Millisecond})
	if err != nil {
		tb.Fatalf("new reconciler: %v", err)
	}
	return &fixture{path: path, store: store, clock: c, r: r}
}

func writeFile(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatalf("write %s: %v", path, err)
	}
}

// write replaces the fixture's file.
func (f *fixture) write(tb testing.TB, content string) {
	tb.Helper()
	writeFile(tb, f.path, content)
}

// reload reloads and fails the test unless the result is want.
func (f *fixture) reload(tb testing.TB, want Outcome) Result {
	tb.Helper()
	return f.reloadConfirm(tb, want, false)
}

func (f *fixture) reloadConfirm(tb testing.TB, want Outcome, confirm bool) Result {
	tb.Helper()
	f.clock.Advance(time.Second)
	res := f.r.Reload(context.Background(), "test", confirm)
	if res.Result != want {
		tb.Fatalf("reload = %q (err %v), want %q", res.Result, res.Err, want)
	}
	return res
}

// apply writes content and reloads it, expecting it to be applied.
func (f *fixture) apply(tb testing.TB, content string) Result {
	tb.Helper()
	f.write(tb, content)
	return f.reload(tb, "applied")
}

// snapshot is every record the reconciler manages, for before/after comparisons.
type snapshot struct {
	Providers     []state.Provider
	Connections   []state.Connection
	Databases     []state.Database
	Notifications []state.Notification
	Schedules     []state.Schedule
	Settings      state.Settings
}

func snap(tb testing.TB, s *state.Store) snapshot {
	tb.Helper()
	var sn snapshot
	err := s.View(func(tx *state.Tx) error {
		var err error
		if sn.Providers, err = state.List[state.Provider](tx); err != nil {
			return err
		}
		if sn.Connections, err = state.List[state.Connection](tx); err != nil {
			return err
		}
		if sn.Databases, err = state.List[state.Database](tx); err != nil {
			return err
		}
		if sn.Notifications, err = state.List[state.Notification](tx); err != nil {
			return err
		}
		if sn.Schedules, err = state.List[state.Schedule](tx); err != nil {
			return err
		}
		sn.Settings, err = tx.Settings()
		return err
	})
	if err != nil {
		tb.Fatalf("snapshot: %v", err)
	}
	return sn
}

func mustUpdate(tb testing.TB, s *state.Store, fn func(*state.Tx) error) {
	tb.Helper()
	if err := s.Update(fn); err != nil {
		tb.Fatalf("update: %v", err)
	}
}

// schedule returns the stored schedule with the name, failing when missing.
func schedule(tb testing.TB, s *state.Store, name string) state.Schedule {
	tb.Helper()
	for _, sc := range snap(tb, s).Schedules {
		if sc.Name == name {
			return sc
		}
	}
	tb.Fatalf("schedule %q not in the store", name)
	return state.Schedule{}
}

// names lists the names of records, in store order.
func names[T any](recs []T, name func(T) string) []string {
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		out = append(out, name(r))
	}
	return out
}

func connName(c state.Connection) string { return c.Name }
func schedName(s state.Schedule) string  { return s.Name }

// replace is strings.Replace that fails the test when old is missing, so that
// a fixture edit cannot silently do nothing.
func replace(tb testing.TB, s, old, new string) string {
	tb.Helper()
	if !strings.Contains(s, old) {
		tb.Fatalf("fixture does not contain %q", old)
	}
	return strings.Replace(s, old, new, 1)
}
