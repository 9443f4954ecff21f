package state

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	testConns    = []string{"conn_1", "conn_2", "conn_3"}
	testStatuses = []string{StatusQueued, StatusRunning, StatusSuccess, StatusFailed}
)

// randomBackup returns a backup with references drawn from small sets, so
// filters overlap; CreatedAt repeats sometimes to exercise the ID tie-break.
func randomBackup(r *rand.Rand, id string) Backup {
	c := r.IntN(len(testConns))
	db := fmt.Sprintf("db_%d_%d", c, r.IntN(2))
	sch := ""
	if r.IntN(4) > 0 {
		sch = fmt.Sprintf("sch_%d", r.IntN(4))
	}
	return Backup{
		ID: id, ConnectionID: testConns[c], DatabaseID: db, ScheduleID: sch,
		BackupType: []string{"full", "incremental"}[r.IntN(2)],
		Status:     testStatuses[r.IntN(len(testStatuses))],
		SizeBytes:  r.Int64N(1 << 30),
		CreatedAt:  t0.Add(time.Duration(r.IntN(500)) * time.Minute),
		// Stored bytes per provider are aggregated too.
		StorageProviderID: []string{"prov_1", "prov_2"}[r.IntN(2)],
		StoredSizeBytes:   1 + r.Int64N(1<<20),
	}
}

// bruteForce filters and orders all backups the slow way.
func bruteForce(all []Backup, q BackupQuery) []Backup {
	var out []Backup
	for _, b := range all {
		if match(q.ConnectionID, b.ConnectionID) && match(q.DatabaseID, b.DatabaseID) && match(q.ScheduleID, b.ScheduleID) &&
			match(q.Status, b.Status) && match(q.BackupType, b.BackupType) {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b Backup) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	out = out[min(max(q.Offset, 0), len(out)):]
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

// match reports whether an optional filter value accepts got.
func match(want, got string) bool { return want == "" || want == got }

func bruteStats(all []Backup) BackupStats {
	st := BackupStats{ByType: map[string]int64{}, ByStatus: map[string]int64{}, StoredByProvider: map[string]int64{}}
	for _, b := range all {
		st.TotalBackups++
		st.TotalSizeBytes += b.SizeBytes
		st.ByType[b.BackupType]++
		st.ByStatus[b.Status]++
		if b.Status == StatusSuccess && b.StorageProviderID != "" && b.StoredSizeBytes != 0 {
			st.StoredByProvider[b.StorageProviderID] += b.StoredSizeBytes
		}
	}
	if st.TotalBackups > 0 {
		st.SuccessRate = float64(st.ByStatus[StatusSuccess]) / float64(st.TotalBackups) * 100
	}
	return st
}

func backupQueries() []BackupQuery {
	var qs []BackupQuery
	for _, c := range []string{"", "conn_1", "conn_none"} {
		for _, db := range []string{"", "db_0_0", "db_2_1"} {
			for _, sch := range []string{"", "sch_1"} {
				for _, st := range []string{"", StatusFailed, StatusSuccess, "no/such"} {
					for _, ty := range []string{"", "incremental"} {
						for _, page := range [][2]int{{0, 0}, {5, 0}, {7, 3}, {1000, 20}} {
							qs = append(qs, BackupQuery{ConnectionID: c, DatabaseID: db, ScheduleID: sch,
								Status: st, BackupType: ty, Limit: page[0], Offset: page[1]})
						}
					}
				}
			}
		}
	}
	return qs
}

// checkBackups compares every query and the stats against brute force.
func checkBackups(t *testing.T, s *Store, phase string) {
	t.Helper()
	mustView(t, s, func(tx *Tx) error {
		all, err := List[Backup](tx)
		if err != nil {
			return err
		}
		for _, q := range backupQueries() {
			got, err := tx.ListBackups(q)
			if err != nil {
				return err
			}
			if want := bruteForce(all, q); !reflect.DeepEqual(ids(got), ids(want)) || !reflect.DeepEqual(got, want) && len(want) > 0 {
				t.Fatalf("%s: ListBackups(%+v) = %v, want %v", phase, q, ids(got), ids(want))
			}
			n, err := tx.CountBackups(q)
			if err != nil {
				return err
			}
			if want := len(bruteForce(all, BackupQuery{ConnectionID: q.ConnectionID, DatabaseID: q.DatabaseID,
				ScheduleID: q.ScheduleID, Status: q.Status, BackupType: q.BackupType})); n != int64(want) {
				t.Fatalf("%s: CountBackups(%+v) = %d, want %d", phase, q, n, want)
			}
		}
		st, err := tx.BackupStats()
		if err != nil {
			return err
		}
		if want := bruteStats(all); !reflect.DeepEqual(st, want) {
			t.Fatalf("%s: stats = %+v, want %+v", phase, st, want)
		}
		return nil
	})
}

func ids(bs []Backup) []string {
	out := []string{}
	for _, b := range bs {
		out = append(out, b.ID)
	}
	return out
}

func TestListBackupsMatchesBruteForce(t *testing.T) {
	s := openMem(t)
	r := rand.New(rand.NewPCG(1, 2))
	const n = 150
	mustUpdate(t, s, func(tx *Tx) error {
		for i := range n {
			if err := Put(tx, randomBackup(r, fmt.Sprintf("bck_%03d", i))); err != nil {
				return err
			}
		}
		return nil
	})
	checkBackups(t, s, "created")

	// Status changes of the same backups, one Update each.
	for i := 0; i < n; i += 3 {
		mustUpdate(t, s, func(tx *Tx) error {
			b, err := Get[Backup](tx, fmt.Sprintf("bck_%03d", i))
			if err != nil {
				return err
			}
			b.Status = StatusSuccess
			b.SizeBytes += 7
			return Put(tx, b)
		})
	}
	checkBackups(t, s, "status changes")

	// Re-indexing: new time, schedule and connection for some.
	mustUpdate(t, s, func(tx *Tx) error {
		for i := 1; i < n; i += 5 {
			b := randomBackup(r, fmt.Sprintf("bck_%03d", i))
			if err := Put(tx, b); err != nil {
				return err
			}
		}
		return nil
	})
	checkBackups(t, s, "moved")

	mustUpdate(t, s, func(tx *Tx) error {
		for i := 2; i < n; i += 4 {
			if err := Delete[Backup](tx, fmt.Sprintf("bck_%03d", i)); err != nil {
				return err
			}
		}
		return nil
	})
	checkBackups(t, s, "deleted")

	checkIndexEntries(t, s)
}

// checkIndexEntries checks that the backup index entries are exactly those
// of the stored records, values included: none missing, none stale.
func checkIndexEntries(t *testing.T, s *Store) {
	t.Helper()
	got := map[string]string{}
	for k, v := range rawValues(t, s) {
		if strings.HasPrefix(k, ixBackup) {
			got[k] = string(v)
		}
	}
	want := map[string]string{}
	mustView(t, s, func(tx *Tx) error {
		all, err := List[Backup](tx)
		for _, b := range all {
			for _, e := range backupIndexEntries(indexFieldsOf(b)) {
				want[e.key] = e.val
			}
		}
		return err
	})
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("index entry %s = %q (present %v), want %q", k, g, ok, v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("stale index entry %s", k)
		}
	}
}

func TestBackupStatsEmptyAndStatusChanges(t *testing.T) {
	s := openMem(t)
	stats := func() BackupStats {
		var st BackupStats
		mustView(t, s, func(tx *Tx) (err error) { st, err = tx.BackupStats(); return err })
		return st
	}
	if st := stats(); st.TotalBackups != 0 || st.SuccessRate != 0 || st.ByStatus == nil || len(st.ByStatus) != 0 {
		t.Fatalf("empty stats = %+v", st)
	}
	b := Backup{ID: "bck_1", BackupType: "full", Status: StatusQueued, CreatedAt: t0}
	steps := []struct {
		status   string
		size     int64
		byStatus map[string]int64
		rate     float64
	}{
		{StatusQueued, 0, map[string]int64{StatusQueued: 1}, 0},
		{StatusRunning, 0, map[string]int64{StatusRunning: 1}, 0},
		{StatusSuccess, 100, map[string]int64{StatusSuccess: 1}, 100},
		{StatusFailed, 100, map[string]int64{StatusFailed: 1}, 0},
	}
	for _, st := range steps {
		b.Status, b.SizeBytes = st.status, st.size
		mustUpdate(t, s, func(tx *Tx) error { return Put(tx, b) })
		got := stats()
		if got.TotalBackups != 1 || got.TotalSizeBytes != st.size || !reflect.DeepEqual(got.ByStatus, st.byStatus) || got.SuccessRate != st.rate {
			t.Fatalf("after %s: stats = %+v", st.status, got)
		}
	}
	// Two writes of the same backup in one transaction count once.
	mustUpdate(t, s, func(tx *Tx) error {
		b.Status = StatusSuccess
		if err := Put(tx, b); err != nil {
			return err
		}
		b.SizeBytes = 300
		return Put(tx, b)
	})
	if got := stats(); got.TotalBackups != 1 || got.TotalSizeBytes != 300 || got.SuccessRate != 100 {
		t.Fatalf("after double put: %+v", got)
	}
	mustUpdate(t, s, func(tx *Tx) error { return Delete[Backup](tx, b.ID) })
	if got := stats(); got.TotalBackups != 0 || got.TotalSizeBytes != 0 || len(got.ByStatus) != 0 || len(got.ByType) != 0 {
		t.Fatalf("after delete: %+v", got)
	}
}

func TestBackupStatsConcurrentWriters(t *testing.T) {
	s := openMem(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				id := fmt.Sprintf("bck_w%d_%d", w, i)
				err := s.Update(func(tx *Tx) error {
					return Put(tx, Backup{ID: id, BackupType: "full", Status: StatusRunning, SizeBytes: 1, CreatedAt: t0})
				})
				if err == nil {
					err = s.Update(func(tx *Tx) error {
						b, err := Get[Backup](tx, id)
						if err != nil {
							return err
						}
						b.Status = testStatuses[i%len(testStatuses)]
						return Put(tx, b)
					})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkBackups(t, s, "concurrent")
}
