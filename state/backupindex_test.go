package state

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// TestBackupIndexRandomOperations runs random batches of creations, status
// transitions (queued → running → success/failed, and verifying), type
// changes, moves and deletions, several per transaction and sometimes the
// same backup twice in one, and compares every query and count with a full
// scan after each batch.
func TestBackupIndexRandomOperations(t *testing.T) {
	s := openMem(t)
	r := rand.New(rand.NewPCG(7, 11))
	next := 0
	var live []string
	for round := range 40 {
		mustUpdate(t, s, func(tx *Tx) error {
			for range 1 + r.IntN(12) {
				if err := randomOp(tx, r, &live, &next); err != nil {
					return err
				}
			}
			return nil
		})
		if round%4 == 3 {
			checkBackups(t, s, fmt.Sprintf("round %d", round))
			checkIndexEntries(t, s)
		}
	}
	if len(live) < 20 {
		t.Fatalf("only %d backups left: the random operations exercise too little", len(live))
	}
}

// randomOp applies one random operation to the backups whose IDs are live.
func randomOp(tx *Tx, r *rand.Rand, live *[]string, next *int) error {
	if len(*live) == 0 || r.IntN(3) == 0 {
		b := randomBackup(r, fmt.Sprintf("bck_%04d", *next))
		b.Status = StatusQueued
		*next++
		*live = append(*live, b.ID)
		return Put(tx, b)
	}
	i := r.IntN(len(*live))
	id := (*live)[i]
	if r.IntN(8) == 0 {
		*live = append((*live)[:i], (*live)[i+1:]...)
		return Delete[Backup](tx, id)
	}
	b, err := Get[Backup](tx, id)
	if err != nil {
		return err
	}
	switch b.Status {
	case StatusQueued:
		b.Status = StatusRunning
	case StatusRunning:
		b.Status = []string{StatusSuccess, StatusFailed}[r.IntN(2)]
	case StatusSuccess:
		b.Status = StatusVerifying
	default:
		b.Status = StatusSuccess
	}
	switch r.IntN(6) {
	case 0:
		b.BackupType = []string{"full", "incremental"}[r.IntN(2)]
	case 1:
		b.ScheduleID = fmt.Sprintf("sch_%d", r.IntN(4))
	case 2:
		b.CreatedAt = b.CreatedAt.Add(-time.Minute)
	}
	return Put(tx, b)
}

func TestBackupIndexRefusesKeySeparators(t *testing.T) {
	s := openMem(t)
	for _, b := range []Backup{
		{ID: "bck_1", Status: "success/x", CreatedAt: t0},
		{ID: "bck_2", Status: StatusSuccess, BackupType: "full\x00", CreatedAt: t0},
	} {
		if err := s.Update(func(tx *Tx) error { return Put(tx, b) }); err == nil {
			t.Errorf("put %+v: no error", b)
		}
	}
}

// TestMigrateStatusTypeIndexes opens a data dir written at schema 2 (by a
// jagad that kept no index by status or type: those entries are removed by
// hand, and one stale entry added) and checks that schema 3 builds them.
func TestMigrateStatusTypeIndexes(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, MasterKey: testKey(1)}
	s, err := open(opts, defaultMigrations()[:1])
	if err != nil {
		t.Fatal(err)
	}
	if v := readSchema(t, s); v != 2 {
		t.Fatalf("schema = %d, want 2", v)
	}
	r := rand.New(rand.NewPCG(5, 6))
	mustUpdate(t, s, func(tx *Tx) error {
		for i := range 300 {
			if err := Put(tx, randomBackup(r, fmt.Sprintf("bck_%03d", i))); err != nil {
				return err
			}
		}
		return nil
	})
	err = s.db.Update(func(txn *badger.Txn) error {
		for k := range rawValues(t, s) {
			if strings.HasPrefix(k, ixBackupSt) || strings.HasPrefix(k, ixBackupTy) {
				if err := txn.Delete([]byte(k)); err != nil {
					return err
				}
			}
		}
		return txn.Set([]byte(ixBackupSt+StatusFailed+"/00000000000000000001/bck_gone"), []byte("\x00\x00\x00failed\x00full"))
	})
	if err != nil {
		t.Fatal(err)
	}
	mustView(t, s, func(tx *Tx) error {
		if got, err := tx.ListBackups(BackupQuery{Status: StatusSuccess}); err != nil || len(got) != 0 {
			t.Fatalf("before the migration: %d backups by status, %v; the test does not start from schema 2's data", len(got), err)
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
	checkIndexEntries(t, s)
	checkBackups(t, s, "migrated")
}

// TestMigrateStatusTypeIndexesBeyondOneTransaction migrates more backups
// than one Badger transaction can index (its batch limits are 15% of the
// memtable), written raw for speed.
func TestMigrateStatusTypeIndexesBeyondOneTransaction(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 70,000 records")
	}
	dir := t.TempDir()
	opts := Options{Dir: dir, MasterKey: testKey(1)}
	s, err := open(opts, defaultMigrations()[:1])
	if err != nil {
		t.Fatal(err)
	}
	const n = 70_000
	wb := s.db.NewWriteBatch()
	for i := range n {
		b := Backup{ID: fmt.Sprintf("bck_%06d", i), ConnectionID: "conn_1", Status: StatusSuccess,
			BackupType: "full", CreatedAt: t0.Add(time.Duration(i) * time.Second)}
		if i%7 == 0 {
			b.Status = StatusFailed
		}
		raw, _ := json.Marshal(b)
		if err := wb.Set([]byte(recordKey(KindBackup, b.ID)), raw); err != nil {
			t.Fatal(err)
		}
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	s, err = open(opts, defaultMigrations())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustView(t, s, func(tx *Tx) error {
		for q, want := range map[BackupQuery]int64{
			{Status: StatusFailed, ConnectionID: "conn_1"}:  n / 7,
			{BackupType: "full", ConnectionID: "conn_1"}:    n,
			{Status: StatusSuccess, ConnectionID: "conn_1"}: n - n/7,
		} {
			if got, err := tx.CountBackups(q); err != nil || got != want {
				t.Errorf("CountBackups(%+v) = %d, %v; want %d", q, got, err, want)
			}
		}
		return nil
	})
}
