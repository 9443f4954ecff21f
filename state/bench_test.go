package state

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchStore returns an on-disk store holding n random backups.
func benchStore(b *testing.B, n int) *Store {
	b.Helper()
	s := openDir(b, b.TempDir(), testKey(1))
	b.Cleanup(func() { _ = s.Close() })
	r := rand.New(rand.NewPCG(3, 4))
	for start := 0; start < n; start += 1000 {
		mustUpdate(b, s, func(tx *Tx) error {
			for i := start; i < min(start+1000, n); i++ {
				bk := randomBackup(r, fmt.Sprintf("bck_%06d", i))
				bk.LogOutput = "pg_dump: dumping contents of table public.events\n"
				if err := Put(tx, bk); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return s
}

func BenchmarkListBackups(b *testing.B) {
	s := benchStore(b, 10000)
	for _, bm := range []struct {
		name string
		q    BackupQuery
	}{
		{"all/limit50/offset0", BackupQuery{Limit: 50}},
		{"all/limit50/offset5000", BackupQuery{Limit: 50, Offset: 5000}},
		{"conn/limit50/offset0", BackupQuery{ConnectionID: "conn_2", Limit: 50}},
		{"conn+sch/limit50/offset200", BackupQuery{ConnectionID: "conn_2", ScheduleID: "sch_1", Limit: 50, Offset: 200}},
		{"status/limit50/offset2000", BackupQuery{Status: StatusFailed, Limit: 50, Offset: 2000}},
		{"conn+status+type/limit50/offset300", BackupQuery{ConnectionID: "conn_2", Status: StatusFailed, BackupType: "full", Limit: 50, Offset: 300}},
	} {
		b.Run(bm.name, func(b *testing.B) {
			for b.Loop() {
				err := s.View(func(tx *Tx) error {
					got, err := tx.ListBackups(bm.q)
					if err == nil && len(got) != bm.q.Limit {
						err = fmt.Errorf("got %d backups", len(got))
					}
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCountBackups(b *testing.B) {
	s := benchStore(b, 10000)
	for _, bm := range []struct {
		name string
		q    BackupQuery
	}{
		{"status", BackupQuery{Status: StatusFailed}},
		{"conn+status+type", BackupQuery{ConnectionID: "conn_2", Status: StatusFailed, BackupType: "full"}},
	} {
		b.Run(bm.name, func(b *testing.B) {
			for b.Loop() {
				err := s.View(func(tx *Tx) error {
					n, err := tx.CountBackups(bm.q)
					if err == nil && n == 0 {
						err = fmt.Errorf("counted nothing")
					}
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkBackupStats(b *testing.B) {
	s := benchStore(b, 10000)
	for b.Loop() {
		err := s.View(func(tx *Tx) error {
			st, err := tx.BackupStats()
			if err == nil && st.TotalBackups != 10000 {
				err = fmt.Errorf("total %d", st.TotalBackups)
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListAllBackups is the baseline the indexes avoid: decode every
// backup, as a scan-and-filter listing would.
func BenchmarkListAllBackups(b *testing.B) {
	s := benchStore(b, 10000)
	for b.Loop() {
		err := s.View(func(tx *Tx) error {
			all, err := List[Backup](tx)
			if err == nil && len(all) != 10000 {
				err = fmt.Errorf("got %d", len(all))
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
