package state

import (
	"errors"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

func readSchema(tb testing.TB, s *Store) int {
	tb.Helper()
	var v int
	if err := s.db.View(func(txn *badger.Txn) (err error) { v, err = schemaVersion(txn); return err }); err != nil {
		tb.Fatal(err)
	}
	return v
}

func TestSchemaVersionAndMigrations(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, MasterKey: testKey(1)}
	s, err := open(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v := readSchema(t, s); v != 1 {
		t.Fatalf("fresh store schema = %d, want 1", v)
	}
	mustUpdate(t, s, func(tx *Tx) error { return Put(tx, Database{ID: "db_1", DBName: "old"}) })
	_ = s.Close()

	runs := 0
	toV2 := func(txn *badger.Txn) error {
		runs++
		return txn.Set([]byte("database/db_1"), []byte(`{"id":"db_1","db_name":"migrated"}`))
	}
	for range 2 { // the second open must not run the migration again
		s, err = open(opts, []migration{{txn: toV2}})
		if err != nil {
			t.Fatal(err)
		}
		if v := readSchema(t, s); v != 2 {
			t.Fatalf("after migration schema = %d, want 2", v)
		}
		_ = s.Close()
	}
	if runs != 1 {
		t.Fatalf("migration ran %d times, want 1", runs)
	}
	s, err = open(opts, []migration{{txn: toV2}})
	if err != nil {
		t.Fatal(err)
	}
	mustView(t, s, func(tx *Tx) error {
		d, err := Get[Database](tx, "db_1")
		if d.DBName != "migrated" {
			t.Errorf("db name = %q, want migrated", d.DBName)
		}
		return err
	})
	_ = s.Close()

	// A store written by a newer jagad (schema 2) is refused by this one (schema 1).
	_, err = open(opts, nil)
	if err == nil || !strings.Contains(err.Error(), "schema version 2") {
		t.Fatalf("open newer schema: err = %v", err)
	}
	// A failed migration leaves the store untouched at its old version.
	failing := func(*badger.Txn) error { return errors.New("broken") }
	if _, err := open(opts, []migration{{txn: toV2}, {txn: failing}}); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("failing migration: err = %v", err)
	}
	s, err = open(opts, []migration{{txn: toV2}})
	if err != nil {
		t.Fatal(err)
	}
	if v := readSchema(t, s); v != 2 {
		t.Errorf("after a failed migration schema = %d, want 2", v)
	}
	_ = s.Close()
}

func TestBigTransaction(t *testing.T) {
	s := openDir(t, t.TempDir(), testKey(1))
	defer s.Close()
	const n = 1000
	mustUpdate(t, s, func(tx *Tx) error {
		for i := range n {
			c := conn(NewID(KindConnection), "c", "a-password-of-some-length")
			sch := Schedule{Meta: Meta{ID: NewID(KindSchedule), CreatedAt: t0}, ScheduleSpec: ScheduleSpec{
				Name: "nightly", ConnectionID: c.ID, DatabaseID: "db_x", CronExpr: "0 2 * * *", BackupType: "full",
				NotifTargetIDs: []string{"notif_a", "notif_b"}, Enabled: true,
			}}
			b := Backup{ID: NewID(KindBackup), ConnectionID: c.ID, DatabaseID: "db_x", ScheduleID: sch.ID,
				BackupType: "full", Status: StatusSuccess, SizeBytes: int64(i), CreatedAt: t0,
				StoragePath: "backups/some/long/path/" + c.ID + ".dump.zst.age", LogOutput: strings.Repeat("log line\n", 10)}
			if err := errors.Join(Put(tx, c), Put(tx, sch), Put(tx, b)); err != nil {
				return err
			}
		}
		return nil
	})
	mustView(t, s, func(tx *Tx) error {
		cs, err1 := List[Connection](tx)
		ss, err2 := List[Schedule](tx)
		bs, err3 := tx.ListBackups(BackupQuery{})
		st, err4 := tx.BackupStats()
		if len(cs) != n || len(ss) != n || len(bs) != n || st.TotalBackups != n || st.TotalSizeBytes != n*(n-1)/2 {
			t.Errorf("counts: %d connections, %d schedules, %d backups, stats %+v", len(cs), len(ss), len(bs), st)
		}
		return errors.Join(err1, err2, err3, err4)
	})
}

func TestBulkMigrationRunsOnceWhenDue(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, MasterKey: testKey(1)}
	runs := 0
	bulk := func(db *badger.DB) error {
		runs++
		return db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("database/db_1"), []byte(`{"id":"db_1"}`)) })
	}
	noop := func(*badger.Txn) error { return nil }
	s, err := open(opts, []migration{{txn: noop}}) // a fresh store is written at the current version
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	if _, err := open(Options{Dir: dir, MasterKey: testKey(2)}, []migration{{txn: noop}, {bulk: bulk}}); err == nil || runs != 0 {
		t.Fatalf("open with another key: err = %v, bulk ran %d times", err, runs)
	}
	for range 2 {
		s, err := open(opts, []migration{{txn: noop}, {bulk: bulk}})
		if err != nil {
			t.Fatal(err)
		}
		if v := readSchema(t, s); v != 3 {
			t.Fatalf("schema = %d, want 3", v)
		}
		_ = s.Close()
	}
	if runs != 1 {
		t.Fatalf("bulk ran %d times, want 1", runs)
	}
	fresh := t.TempDir()
	s, err = open(Options{Dir: fresh, MasterKey: testKey(1)}, []migration{{txn: noop}, {bulk: bulk}})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	if runs != 1 {
		t.Fatalf("bulk ran on a fresh store")
	}
}
