package state

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// TestStoredBytesByProvider: the aggregate follows successes per provider
// through status changes, moves between providers and deletes.
func TestStoredBytesByProvider(t *testing.T) {
	s := openMem(t)
	get := func() map[string]int64 {
		var st BackupStats
		mustView(t, s, func(tx *Tx) (err error) { st, err = tx.BackupStats(); return err })
		return st.StoredByProvider
	}
	put := func(b Backup) { mustUpdate(t, s, func(tx *Tx) error { return Put(tx, b) }) }
	a := Backup{ID: "bck_a", BackupType: "full", Status: StatusRunning, StorageProviderID: "prov_1", StoredSizeBytes: 10, CreatedAt: t0}
	put(a)
	if got := get(); len(got) != 0 {
		t.Fatalf("a running backup counts: %v", got)
	}
	a.Status = StatusSuccess
	put(a)
	put(Backup{ID: "bck_b", BackupType: "full", Status: StatusSuccess, StorageProviderID: "prov_2", StoredSizeBytes: 5, CreatedAt: t0})
	put(Backup{ID: "bck_c", BackupType: "full", Status: StatusFailed, StorageProviderID: "prov_2", StoredSizeBytes: 99, CreatedAt: t0})
	if got, want := get(), map[string]int64{"prov_1": 10, "prov_2": 5}; !reflect.DeepEqual(got, want) {
		t.Fatalf("stored by provider = %v, want %v", got, want)
	}
	a.StorageProviderID = "prov_2"
	put(a)
	mustUpdate(t, s, func(tx *Tx) error { return Delete[Backup](tx, "bck_b") })
	if got, want := get(), map[string]int64{"prov_2": 10}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after move and delete = %v, want %v", got, want)
	}
}

// TestMigrateStoredByProvider: a schema-1 data dir (aggregate without the
// per-provider sums) is upgraded at open.
func TestMigrateStoredByProvider(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir, testKey(1))
	mustUpdate(t, s, func(tx *Tx) error {
		for _, b := range []Backup{
			{ID: "bck_1", BackupType: "full", Status: StatusSuccess, StorageProviderID: "prov_1", StoredSizeBytes: 7, CreatedAt: t0},
			{ID: "bck_2", BackupType: "full", Status: StatusSuccess, StorageProviderID: "prov_1", StoredSizeBytes: 3, CreatedAt: t0},
			{ID: "bck_3", BackupType: "full", Status: StatusFailed, StorageProviderID: "prov_1", StoredSizeBytes: 50, CreatedAt: t0},
		} {
			if err := Put(tx, b); err != nil {
				return err
			}
		}
		return nil
	})
	// Turn it into a schema-1 store: version 1, aggregate without the sums.
	err := s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(keyBackupStats))
		if err != nil {
			return err
		}
		raw, _ := item.ValueCopy(nil)
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return err
		}
		delete(m, "stored_by_provider")
		raw, _ = json.Marshal(m)
		if err := txn.Set([]byte(keyBackupStats), raw); err != nil {
			return err
		}
		return putSchema(txn, 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openDir(t, dir, testKey(1))
	defer s.Close()
	var st BackupStats
	mustView(t, s, func(tx *Tx) (err error) { st, err = tx.BackupStats(); return err })
	if want := map[string]int64{"prov_1": 10}; !reflect.DeepEqual(st.StoredByProvider, want) || st.TotalBackups != 3 {
		t.Fatalf("after migration: %+v", st)
	}
	_ = s.db.View(func(txn *badger.Txn) error {
		if v, err := schemaVersion(txn); err != nil || v != len(defaultMigrations())+1 {
			t.Errorf("schema version %d, %v; want %d", v, err, len(defaultMigrations())+1)
		}
		return nil
	})
}
