package state

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// listStore fills s with connections (sealed passwords), schedules (names
// that repeat, so ties fall to the ID), databases of two connections and
// restores (CreatedAt that repeat), then renames, moves and deletes some.
func listStore(t *testing.T, s *Store, r *rand.Rand) {
	t.Helper()
	mustUpdate(t, s, func(tx *Tx) error {
		for i := range 60 {
			id := fmt.Sprintf("con_%03d", r.IntN(1000))
			if err := Put(tx, conn(id, fmt.Sprintf("c-%02d", r.IntN(100)), "pw"+id)); err != nil {
				return err
			}
			sc := Schedule{Meta: Meta{ID: fmt.Sprintf("sch_%03d", i), CreatedAt: t0.Add(time.Duration(r.IntN(5)) * time.Second)}}
			sc.Name = []string{"a", "a b", "b", "ab", "B", ""}[r.IntN(6)] + fmt.Sprint(r.IntN(4))
			sc.ConnectionID = []string{"con_x", "con_xy"}[r.IntN(2)]
			if err := Put(tx, sc); err != nil {
				return err
			}
			db := Database{ID: fmt.Sprintf("db_%03d", i), ConnectionID: []string{"con_x", "con_xy"}[r.IntN(2)], DBName: fmt.Sprintf("d%d", r.IntN(20))}
			if err := Put(tx, db); err != nil {
				return err
			}
			rs := Restore{ID: fmt.Sprintf("res_%03d", r.IntN(1000)), CreatedAt: t0.Add(time.Duration(r.IntN(30)) * time.Minute)}
			if err := Put(tx, rs); err != nil {
				return err
			}
		}
		return nil
	})
	mustUpdate(t, s, func(tx *Tx) error {
		for i := range 60 {
			switch i % 3 {
			case 0: // rename
				sc, err := Get[Schedule](tx, fmt.Sprintf("sch_%03d", i))
				if err != nil {
					return err
				}
				sc.Name = fmt.Sprintf("z%d", r.IntN(5))
				if r.IntN(2) == 0 { // and move it to the other connection
					sc.ConnectionID = map[string]string{"con_x": "con_xy", "con_xy": "con_x"}[sc.ConnectionID]
				}
				if err := Put(tx, sc); err != nil {
					return err
				}
			case 1: // move to the other connection
				db, err := Get[Database](tx, fmt.Sprintf("db_%03d", i))
				if err != nil {
					return err
				}
				db.ConnectionID = map[string]string{"con_x": "con_xy", "con_xy": "con_x"}[db.ConnectionID]
				if err := Put(tx, db); err != nil {
					return err
				}
			case 2:
				if err := Delete[Schedule](tx, fmt.Sprintf("sch_%03d", i)); err != nil {
					return err
				}
				if err := Delete[Database](tx, fmt.Sprintf("db_%03d", i)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// byName is the API's order of named kinds: name, then ID.
func byName[T any](name, id func(T) string) func(a, b T) int {
	return func(a, b T) int { return cmp.Or(strings.Compare(name(a), name(b)), strings.Compare(id(a), id(b))) }
}

// checkPages compares pages of every listed kind at random windows with the
// slice of the full list, sorted as the API sorts it, at the same window.
func checkPages(t *testing.T, s *Store, r *rand.Rand) {
	t.Helper()
	mustView(t, s, func(tx *Tx) error {
		conns, _ := List[Connection](tx)
		slices.SortFunc(conns, byName(func(c Connection) string { return c.Name }, func(c Connection) string { return c.ID }))
		checkKind(t, r, "connections", conns, func(o, l int) ([]Connection, int, error) { return Page[Connection](tx, o, l) })

		scheds, _ := List[Schedule](tx)
		slices.SortFunc(scheds, byName(func(c Schedule) string { return c.Name }, func(c Schedule) string { return c.ID }))
		checkKind(t, r, "schedules", scheds, func(o, l int) ([]Schedule, int, error) { return Page[Schedule](tx, o, l) })
		for _, connID := range []string{"con_x", "con_xy", "con_none"} {
			of := slices.DeleteFunc(slices.Clone(scheds), func(sc Schedule) bool { return sc.ConnectionID != connID })
			checkKind(t, r, "schedules of "+connID, of, func(o, l int) ([]Schedule, int, error) { return SchedulePage(tx, connID, o, l) })
		}

		rs, _ := List[Restore](tx)
		slices.SortFunc(rs, func(a, b Restore) int {
			return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), strings.Compare(a.ID, b.ID))
		})
		checkKind(t, r, "restores", rs, func(o, l int) ([]Restore, int, error) { return Page[Restore](tx, o, l) })

		dbs, _ := List[Database](tx)
		for _, connID := range []string{"con_x", "con_xy", "con_none"} {
			of := slices.DeleteFunc(slices.Clone(dbs), func(d Database) bool { return d.ConnectionID != connID })
			slices.SortFunc(of, byName(func(d Database) string { return d.DBName }, func(d Database) string { return d.ID }))
			checkKind(t, r, "databases of "+connID, of, func(o, l int) ([]Database, int, error) { return DatabasePage(tx, connID, o, l) })
		}
		if n, err := Count[Schedule](tx); err != nil || n != len(scheds) {
			t.Errorf("Count[Schedule] = %d, %v; want %d", n, err, len(scheds))
		}
		return nil
	})
}

func checkKind[T any](t *testing.T, r *rand.Rand, what string, all []T, page func(offset, limit int) ([]T, int, error)) {
	t.Helper()
	if len(all) == 0 && !strings.HasSuffix(what, "con_none") {
		t.Fatalf("%s: no records, the test checks nothing", what)
	}
	windows := [][2]int{{0, len(all) + 5}, {0, 0}, {len(all), 3}, {len(all) + 7, 2}}
	for range 30 {
		windows = append(windows, [2]int{r.IntN(len(all) + 3), r.IntN(len(all) + 3)})
	}
	for _, w := range windows {
		got, total, err := page(w[0], w[1])
		if err != nil {
			t.Fatalf("%s: page(%d, %d): %v", what, w[0], w[1], err)
		}
		lo := min(w[0], len(all))
		want := all[lo:min(lo+w[1], len(all))]
		if total != len(all) || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: page(%d, %d) = %d of %d:\n%v\nwant %d of %d:\n%v", what, w[0], w[1], len(got), total, got, len(want), len(all), want)
		}
	}
}

func TestPageIsASliceOfTheList(t *testing.T) {
	s := openMem(t)
	r := rand.New(rand.NewPCG(7, 8))
	listStore(t, s, r)
	checkPages(t, s, r)
}

func TestPageRejectsUnlistedKindsAndBadWindows(t *testing.T) {
	s := openMem(t)
	mustView(t, s, func(tx *Tx) error {
		if _, _, err := Page[Backup](tx, 0, 10); err == nil {
			t.Error("Page[Backup]: no error")
		}
		if _, _, err := Page[Database](tx, 0, 10); err == nil {
			t.Error("Page[Database] without a connection: no error")
		}
		if _, _, err := Page[Schedule](tx, -1, 10); err == nil {
			t.Error("negative offset: no error")
		}
		return nil
	})
}

// TestMigrateListIndexes opens a data dir written at schema 3 (no list
// indexes: removed by hand, and a stale entry added) and checks that schema 4
// builds them.
func TestMigrateListIndexes(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, MasterKey: testKey(1)}
	s, err := open(opts, defaultMigrations()[:2])
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(9, 10))
	listStore(t, s, r)
	err = s.db.Update(func(txn *badger.Txn) error {
		for k := range rawValues(t, s) {
			if strings.HasPrefix(k, ixList) || strings.HasPrefix(k, ixListOf) {
				if err := txn.Delete([]byte(k)); err != nil {
					return err
				}
			}
		}
		return txn.Set([]byte(ixList+"schedule/a\x00sch_gone"), nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	mustView(t, s, func(tx *Tx) error {
		if n, err := Count[Schedule](tx); err != nil || n != 1 {
			t.Fatalf("before the migration: %d schedules listed, %v; the test does not start from schema 3's data", n, err)
		}
		return nil
	})
	_ = s.Close()

	s, err = open(opts, defaultMigrations())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, want := readSchema(t, s), len(defaultMigrations())+1; v != want {
		t.Fatalf("schema = %d, want %d", v, want)
	}
	checkPages(t, s, r)
}

// TestMigrateSchedulesByConnection opens a data dir written at schema 4 (no
// schedules-by-connection order: removed by hand, and a stale entry added)
// and checks that schema 5 builds it.
func TestMigrateSchedulesByConnection(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, MasterKey: testKey(1)}
	s, err := open(opts, defaultMigrations()[:3])
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(11, 12))
	listStore(t, s, r)
	order := string(orderSchedulesByConnection) + "/"
	err = s.db.Update(func(txn *badger.Txn) error {
		for k := range rawValues(t, s) {
			if strings.HasPrefix(k, ixList+order) || strings.HasPrefix(k, ixListOf+order) {
				if err := txn.Delete([]byte(k)); err != nil {
					return err
				}
			}
		}
		return txn.Set([]byte(ixList+order+"con_x/a\x00sch_gone"), nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	mustView(t, s, func(tx *Tx) error {
		if _, n, err := SchedulePage(tx, "con_x", 0, 0); err != nil || n != 1 {
			t.Fatalf("before the migration: %d schedules of con_x, %v; the test does not start from schema 4's data", n, err)
		}
		return nil
	})
	_ = s.Close()

	s, err = open(opts, defaultMigrations())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, want := readSchema(t, s), len(defaultMigrations())+1; v != want {
		t.Fatalf("schema = %d, want %d", v, want)
	}
	checkPages(t, s, r)
}
