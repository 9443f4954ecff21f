package state

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// checkLastRun compares LastScheduleRun with the newest backup ListBackups
// returns for the schedule (the record it stands in for) and with want.
func checkLastRun(t *testing.T, s *Store, sched string, wantRun time.Time, wantStatus string, wantOK bool) {
	t.Helper()
	mustView(t, s, func(tx *Tx) error {
		run, st, ok, err := tx.LastScheduleRun(sched)
		if err != nil {
			t.Fatalf("LastScheduleRun(%s): %v", sched, err)
		}
		if ok != wantOK || st != wantStatus || !run.Equal(wantRun) {
			t.Fatalf("LastScheduleRun(%s) = %v %q %v, want %v %q %v", sched, run, st, ok, wantRun, wantStatus, wantOK)
		}
		bs, err := tx.ListBackups(BackupQuery{ScheduleID: sched, Limit: 1})
		if err != nil {
			return err
		}
		if (len(bs) > 0) != ok {
			t.Fatalf("ListBackups finds %d backups of %s, LastScheduleRun ok = %v", len(bs), sched, ok)
		}
		if ok {
			rec := bs[0].CreatedAt
			if bs[0].StartedAt != nil {
				rec = *bs[0].StartedAt
			}
			if !rec.Equal(run) || bs[0].Status != st {
				t.Fatalf("record says %v %q, index says %v %q", rec, bs[0].Status, run, st)
			}
		}
		return nil
	})
}

func TestLastScheduleRunFollowsTheNewestBackup(t *testing.T) {
	s := openMem(t)
	put := func(b Backup) { mustUpdate(t, s, func(tx *Tx) error { return Put(tx, b) }) }
	del := func(id string) { mustUpdate(t, s, func(tx *Tx) error { return Delete[Backup](tx, id) }) }
	at := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }

	checkLastRun(t, s, "sch_1", time.Time{}, "", false)
	// Another schedule's backups and unscheduled ones do not count.
	put(Backup{ID: "bck_other", ScheduleID: "sch_2", Status: StatusSuccess, BackupType: "full", CreatedAt: t0.Add(time.Hour)})
	put(Backup{ID: "bck_manual", Status: StatusSuccess, BackupType: "full", CreatedAt: t0.Add(2 * time.Hour)})
	checkLastRun(t, s, "sch_1", time.Time{}, "", false)

	// Created (queued): the creation time; started: the start time.
	b1 := Backup{ID: "bck_1", ScheduleID: "sch_1", Status: StatusQueued, BackupType: "full", CreatedAt: t0,
		LogOutput: strings.Repeat("log line\n", 1000)}
	put(b1)
	checkLastRun(t, s, "sch_1", t0, StatusQueued, true)
	b1.Status, b1.StartedAt = StatusRunning, at(3*time.Second)
	put(b1)
	checkLastRun(t, s, "sch_1", t0.Add(3*time.Second), StatusRunning, true)
	b1.Status, b1.CompletedAt = StatusSuccess, at(time.Minute)
	put(b1)
	checkLastRun(t, s, "sch_1", t0.Add(3*time.Second), StatusSuccess, true)

	// A newer backup that fails before it starts, then one that fails running.
	b2 := Backup{ID: "bck_2", ScheduleID: "sch_1", Status: StatusFailed, BackupType: "full", CreatedAt: t0.Add(time.Hour)}
	put(b2)
	checkLastRun(t, s, "sch_1", t0.Add(time.Hour), StatusFailed, true)
	b3 := Backup{ID: "bck_3", ScheduleID: "sch_1", Status: StatusRunning, BackupType: "full",
		CreatedAt: t0.Add(2 * time.Hour), StartedAt: at(2*time.Hour + time.Second)}
	put(b3)
	checkLastRun(t, s, "sch_1", t0.Add(2*time.Hour+time.Second), StatusRunning, true)
	// Crash recovery marks the interrupted run failed (a Put like this one).
	b3.Status, b3.CompletedAt = StatusFailed, at(3*time.Hour)
	put(b3)
	checkLastRun(t, s, "sch_1", t0.Add(2*time.Hour+time.Second), StatusFailed, true)

	// Retention deletes the oldest: nothing changes; deleting the newest
	// falls back to the one before.
	del("bck_1")
	checkLastRun(t, s, "sch_1", t0.Add(2*time.Hour+time.Second), StatusFailed, true)
	del("bck_3")
	checkLastRun(t, s, "sch_1", t0.Add(time.Hour), StatusFailed, true)
	del("bck_2")
	checkLastRun(t, s, "sch_1", time.Time{}, "", false)
	checkLastRun(t, s, "sch_2", t0.Add(time.Hour), StatusSuccess, true)
	checkIndexEntries(t, s)
}

// TestMigrateScheduleRunIndex starts from schema 5's index by schedule
// (values "conn\x00db\x00sched") and checks that opening migrates it.
func TestMigrateScheduleRunIndex(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, MasterKey: testKey(1)}
	s, err := open(opts, defaultMigrations()[:4])
	if err != nil {
		t.Fatal(err)
	}
	if v := readSchema(t, s); v != 5 {
		t.Fatalf("schema = %d, want 5", v)
	}
	started := t0.Add(5 * time.Second)
	mustUpdate(t, s, func(tx *Tx) error {
		for i := range 20 {
			b := Backup{ID: fmt.Sprintf("bck_%02d", i), ScheduleID: fmt.Sprintf("sch_%d", i%3), Status: StatusSuccess,
				BackupType: "full", CreatedAt: t0.Add(time.Duration(i) * time.Minute)}
			if i == 19 {
				b.Status, b.StartedAt = StatusFailed, &started
			}
			if err := Put(tx, b); err != nil {
				return err
			}
		}
		return nil
	})
	err = s.db.Update(func(txn *badger.Txn) error { // schema 5's values
		for k, v := range rawValues(t, s) {
			if strings.HasPrefix(k, ixBackupSch) {
				parts := strings.SplitN(string(v), "\x00", 4)
				if err := txn.Set([]byte(k), []byte(strings.Join(parts[:3], "\x00"))); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mustView(t, s, func(tx *Tx) error {
		if _, _, _, err := tx.LastScheduleRun("sch_1"); err == nil {
			t.Fatal("before the migration LastScheduleRun reads schema 5's entry; the test does not start from it")
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
	checkLastRun(t, s, "sch_1", started, StatusFailed, true) // bck_19, started before it was created
	checkLastRun(t, s, "sch_0", t0.Add(18*time.Minute), StatusSuccess, true)
	checkLastRun(t, s, "sch_2", t0.Add(17*time.Minute), StatusSuccess, true)
}

// BenchmarkLastScheduleRun: a schedule's last run and status, as
// engine.ScheduleInfo reads it for every schedule of GET /api/schedules:
// from the index by schedule (LastScheduleRun) against reading the newest
// record (ListBackups with limit 1, as before schema 6), on 1,000 schedules
// with 10 backups each (a 4 KB log and two replicas per record). ratio is
// index ÷ record in ns/op, from the same run.
func BenchmarkLastScheduleRun(b *testing.B) {
	s := openMem(b)
	const scheds, per = 1000, 10
	log := strings.Repeat("pg_dump: dumping contents of table public.events\n", 80)
	for i := range scheds {
		mustUpdate(b, s, func(tx *Tx) error {
			for j := range per {
				st := t0.Add(time.Duration(j)*time.Hour + time.Second)
				bk := Backup{ID: fmt.Sprintf("bck_%04d_%02d", i, j), ScheduleID: fmt.Sprintf("sch_%04d", i),
					ConnectionID: "conn_1", DatabaseID: "db_1", Status: StatusSuccess, BackupType: "full",
					CreatedAt: t0.Add(time.Duration(j) * time.Hour), StartedAt: &st, LogOutput: log,
					Replicas: []Replica{{ProviderID: "stor_1", StoragePath: "a/b/c.dump.zst.enc", Primary: true, Status: StatusSuccess, SizeBytes: 1 << 20}, {ProviderID: "stor_2", StoragePath: "a/b/c.dump.zst.enc", Status: StatusSuccess, SizeBytes: 1 << 20}}}
				if err := Put(tx, bk); err != nil {
					return err
				}
			}
			return nil
		})
	}
	var record float64
	for _, bc := range []struct {
		name string
		fn   func(tx *Tx, id string) error
	}{
		{"record", func(tx *Tx, id string) error {
			bs, err := tx.ListBackups(BackupQuery{ScheduleID: id, Limit: 1})
			if err == nil && len(bs) != 1 {
				err = fmt.Errorf("%d backups", len(bs))
			}
			return err
		}},
		{"index", func(tx *Tx, id string) error {
			_, _, ok, err := tx.LastScheduleRun(id)
			if err == nil && !ok {
				err = fmt.Errorf("no last run")
			}
			return err
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				id := fmt.Sprintf("sch_%04d", i%scheds)
				i++
				if err := s.View(func(tx *Tx) error { return bc.fn(tx, id) }); err != nil {
					b.Fatal(err)
				}
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if bc.name == "record" {
				record = ns
			} else if record > 0 {
				b.ReportMetric(ns/record, "x-record")
			}
		})
	}
}
