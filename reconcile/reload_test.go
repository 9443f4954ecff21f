package reconcile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/state"
)

// TestPlanBytesResolvesLikeReload: a posted document plans what the
// reload of the same document applies; ${file:...}, which the followed file
// may use, is refused in a posted document.
func TestPlanBytesResolvesLikeReload(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "pg.pass"), "from-a-file\n")
	path := filepath.Join(dir, "jagad.yaml")
	f := newFixtureAt(t, nil, path, nil)
	p, err := f.r.PlanBytes([]byte(baseYAML))
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	writeFile(t, path, baseYAML)
	res := f.reload(t, "applied")
	if !reflect.DeepEqual(p.Items, res.Plan.Items) {
		t.Errorf("plan %v, reload %v", p.Items, res.Plan.Items)
	}
	doc := replace(t, baseYAML, "${PG_PASSWORD}", "${file:pg.pass}")
	if _, err := f.r.PlanBytes([]byte(doc)); err == nil || !strings.Contains(err.Error(), "${file:...} is refused") {
		t.Errorf("posted ${file:}: err = %v", err)
	}
	f.apply(t, doc)
	if pw := snap(t, f.store).Connections[0].Password.Reveal(); pw != "from-a-file" {
		t.Errorf("password = %q", pw)
	}
	if _, err := f.r.PlanBytes([]byte("version: 1\nbogus: true\n")); err == nil {
		t.Error("an invalid posted document was planned")
	}
}

func TestCallbacks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jagad.yaml")
	writeFile(t, path, baseYAML)
	var applied []*config.File
	var failed []error
	r, err := New(Options{
		Path: path, Store: memStore(t), Env: testEnv,
		OnApplied: func(f *config.File) { applied = append(applied, f) },
		OnFailed:  func(err error) { failed = append(failed, err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r.Reload(ctx, "test", false)
	r.Reload(ctx, "test", false)
	if len(applied) != 2 || applied[0].Connections[0].Name != "pg" || len(failed) != 0 {
		t.Fatalf("after two good reloads: applied %d, failed %v", len(applied), failed)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	r.Reload(ctx, "test", false)
	if len(applied) != 2 || len(failed) != 1 || !errors.Is(failed[0], os.ErrNotExist) {
		t.Fatalf("after a missing file: applied %d, failed %v", len(applied), failed)
	}
}

// TestConcurrentReloads runs reloads, plans and status reads at once (for
// the race detector) and checks that the generation counts the applied ones.
func TestConcurrentReloads(t *testing.T) {
	f := newFixture(t, nil, baseYAML)
	var mu sync.Mutex
	applied := 0
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				if res := f.r.Reload(context.Background(), fmt.Sprintf("g%d", g), false); res.Result == "applied" {
					mu.Lock()
					applied++
					mu.Unlock()
				} else if res.Result != "unchanged" {
					t.Errorf("reload: %s %v", res.Result, res.Err)
				}
				if _, err := f.r.PlanBytes([]byte(extraYAML)); err != nil {
					t.Errorf("plan: %v", err)
				}
				_ = f.r.Status()
				if i == 2 && g == 0 {
					mustUpdate(t, f.store, func(tx *state.Tx) error {
						return state.Put(tx, state.Connection{Meta: apiMeta("conn_race0000000000000001"), ConnectionSpec: state.ConnectionSpec{Name: "racer"}})
					})
				}
			}
		}()
	}
	wg.Wait()
	if applied != 1 {
		t.Errorf("%d reloads applied the same file, want 1", applied)
	}
	if g := f.r.Status().Generation; g != int64(applied) {
		t.Errorf("generation %d, applied %d", g, applied)
	}
	if n := len(f.r.Status().History); n != 15 {
		t.Errorf("history has %d entries, want 15", n)
	}
}

// TestUnchangedShortcutSeesChanges: an unchanged reload may skip reading
// the store only while nothing it plans from changed: API writes to the
// planned kinds and secrets that files hold must still be planned.
func TestUnchangedShortcutSeesChanges(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "pg.pass")
	writeFile(t, secret, "one")
	path := filepath.Join(dir, "jagad.yaml")
	writeFile(t, path, replace(t, baseYAML, "${PG_PASSWORD}", "${file:pg.pass}"))
	f := newFixtureAt(t, nil, path, nil)
	f.reload(t, "applied")
	for range 3 {
		if res := f.reload(t, "unchanged"); len(res.Plan.Items) != 7 {
			t.Fatalf("unchanged plan has %d items, want 7", len(res.Plan.Items))
		}
	}

	// The schedule's retention comes from a setting the file leaves to the API.
	mustUpdate(t, f.store, func(tx *state.Tx) error {
		st, err := tx.Settings()
		if err != nil {
			return err
		}
		st.Values["retention_full_default"] = "9"
		return tx.PutSettings(st)
	})
	res := f.reload(t, "applied")
	if it, _ := findItem(res.Plan, "schedule", "nightly"); it.Action != Update || !reflect.DeepEqual(it.Fields, []string{"retention_full"}) {
		t.Errorf("after an API settings change: %+v", it)
	}
	if sch := schedule(t, f.store, "nightly"); sch.RetentionFull != 9 {
		t.Errorf("retention_full = %d, want 9", sch.RetentionFull)
	}
	f.reload(t, "unchanged")
	f.reload(t, "unchanged")

	// A rotated secret file changes the connection though jagad.yaml did not.
	writeFile(t, secret, "two")
	res = f.reload(t, "applied")
	if it, _ := findItem(res.Plan, "connection", "pg"); it.Action != Update {
		t.Errorf("after rotating the password file: %+v", it)
	}
	if pw := snap(t, f.store).Connections[0].Password.Reveal(); pw != "two" {
		t.Errorf("password = %q, want two", pw)
	}
}
