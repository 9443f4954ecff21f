package state

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// crud returns a test of the record life cycle for one kind: a and b are two
// versions of the same record (same ID); other is a second record.
func crud[T Record](a, b, other T) func(*testing.T) {
	return func(t *testing.T) {
		s := openMem(t)
		id := a.RecordID()
		mustView(t, s, func(tx *Tx) error {
			_, err := Get[T](tx, id)
			wantNotFound(t, err)
			return nil
		})
		mustUpdate(t, s, func(tx *Tx) error { return errors.Join(Put(tx, a), Put(tx, other)) })
		mustView(t, s, func(tx *Tx) error {
			got, err := Get[T](tx, id)
			if err != nil || !reflect.DeepEqual(got, a) {
				t.Fatalf("get = %+v, %v; want %+v", got, err, a)
			}
			all, err := List[T](tx)
			if err != nil || len(all) != 2 {
				t.Fatalf("list = %d records, %v; want 2", len(all), err)
			}
			return nil
		})
		mustUpdate(t, s, func(tx *Tx) error { return Put(tx, b) })
		mustUpdate(t, s, func(tx *Tx) error {
			got, err := Get[T](tx, id)
			if err != nil || !reflect.DeepEqual(got, b) {
				t.Fatalf("after replace, get = %+v, %v; want %+v", got, err, b)
			}
			return Delete[T](tx, id)
		})
		mustView(t, s, func(tx *Tx) error {
			_, err := Get[T](tx, id)
			wantNotFound(t, err)
			all, err := List[T](tx)
			if err != nil || len(all) != 1 || !reflect.DeepEqual(all[0], other) {
				t.Fatalf("list after delete = %+v, %v; want [other]", all, err)
			}
			return nil
		})
		err := s.Update(func(tx *Tx) error { return Delete[T](tx, id) })
		wantNotFound(t, err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestCRUDEveryKind(t *testing.T) {
	t1 := t0.Add(time.Hour)
	c1, c2 := conn("conn_a", "a", "pw1"), conn("conn_a", "a", "pw2")
	c2.Port = 6543
	sched := func(id string, enabled bool) Schedule {
		return Schedule{
			Meta: Meta{ID: id, ManagedBy: ManagedByFile, CreatedAt: t0},
			ScheduleSpec: ScheduleSpec{
				Name: "nightly", ConnectionID: "conn_a", DatabaseID: "db_a", BackupType: "full",
				CronExpr: "0 2 * * *", Enabled: enabled, KeepWithin: Duration(48 * time.Hour),
				NotifTargetIDs: []string{"notif_1"}, RestoreTest: &RestoreTest{ConnectionID: "conn_b", Every: 7},
			},
			Override: &Override{Enabled: ptr(!enabled)},
		}
	}
	bck := func(id, status string) Backup {
		return Backup{ID: id, ConnectionID: "conn_a", DatabaseID: "db_a", BackupType: "full",
			Status: status, SizeBytes: 10, CreatedAt: t0, StartedAt: &t1, Tables: map[string]int64{"t": 3}}
	}
	tests := []struct {
		name string
		run  func(*testing.T)
	}{
		{"connection", crud(c1, c2, conn("conn_b", "b", ""))},
		{"database", crud(
			Database{ID: "db_a", ConnectionID: "conn_a", DBName: "app", CreatedAt: t0},
			Database{ID: "db_a", ConnectionID: "conn_a", DBName: "app", IsSelected: true, SizeBytes: 9, CreatedAt: t0},
			Database{ID: "db_b", ConnectionID: "conn_a", DBName: "other", CreatedAt: t1})},
		{"provider", crud(
			Provider{Meta: Meta{ID: "prov_a", CreatedAt: t0}, ProviderSpec: ProviderSpec{Name: "p", ProviderType: "s3", SecretKey: "k1"}},
			Provider{Meta: Meta{ID: "prov_a", CreatedAt: t0}, ProviderSpec: ProviderSpec{Name: "p", ProviderType: "s3", SecretKey: "k2", IsDefault: true}},
			Provider{Meta: Meta{ID: "prov_b", CreatedAt: t0}, ProviderSpec: ProviderSpec{Name: "local", ProviderType: "local", Path: "/x"}})},
		{"notification", crud(
			Notification{Meta: Meta{ID: "notif_a", CreatedAt: t0}, NotificationSpec: NotificationSpec{Name: "n", ConfigJSON: `{"a":1}`, Events: []string{"failure"}}},
			Notification{Meta: Meta{ID: "notif_a", CreatedAt: t0}, NotificationSpec: NotificationSpec{Name: "n", ConfigJSON: `{"a":2}`}},
			Notification{Meta: Meta{ID: "notif_b", CreatedAt: t0}, NotificationSpec: NotificationSpec{Name: "m"}})},
		{"schedule", crud(sched("sch_a", true), sched("sch_a", false), sched("sch_b", true))},
		{"backup", crud(bck("bck_a", StatusRunning), bck("bck_a", StatusSuccess), bck("bck_b", StatusFailed))},
		{"restore", crud(
			Restore{ID: "res_a", BackupID: "bck_a", Status: StatusRunning, CreatedAt: t0},
			Restore{ID: "res_a", BackupID: "bck_a", Status: StatusSuccess, CompletedAt: &t1, CreatedAt: t0},
			Restore{ID: "res_b", BackupID: "bck_a", Drill: true, CreatedAt: t1})},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func TestListSortedByCreatedThenID(t *testing.T) {
	s := openMem(t)
	recs := []Database{
		{ID: "db_c", CreatedAt: t0},
		{ID: "db_a", CreatedAt: t0.Add(time.Second)},
		{ID: "db_b", CreatedAt: t0},
		{ID: "db_0", CreatedAt: t0.Add(2 * time.Second)},
	}
	mustUpdate(t, s, func(tx *Tx) error {
		for _, r := range recs {
			if err := Put(tx, r); err != nil {
				return err
			}
		}
		return nil
	})
	var ids []string
	var rids []string
	mustView(t, s, func(tx *Tx) error {
		all, err := List[Database](tx)
		for _, d := range all {
			ids = append(ids, d.ID)
		}
		return err
	})
	if want := []string{"db_b", "db_c", "db_a", "db_0"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("order = %v, want %v", ids, want)
	}
	mustUpdate(t, s, func(tx *Tx) error {
		return errors.Join(
			Put(tx, Restore{ID: "res_1", CreatedAt: t0}),
			Put(tx, Restore{ID: "res_2", CreatedAt: t0.Add(time.Minute)}),
			Put(tx, Restore{ID: "res_0", CreatedAt: t0.Add(-time.Minute)}))
	})
	mustView(t, s, func(tx *Tx) error {
		all, err := tx.ListRestores()
		for _, r := range all {
			rids = append(rids, r.ID)
		}
		return err
	})
	if want := []string{"res_2", "res_1", "res_0"}; !reflect.DeepEqual(rids, want) {
		t.Errorf("restores = %v, want newest first %v", rids, want)
	}
}

func TestPutRejects(t *testing.T) {
	s := openMem(t)
	tests := []struct {
		name string
		fn   func(*Tx) error
	}{
		{"empty id", func(tx *Tx) error { return Put(tx, Database{}) }},
		{"slash in id", func(tx *Tx) error { return Put(tx, Database{ID: "db_/x"}) }},
		{"pointer type", func(tx *Tx) error { return Put(tx, &Database{ID: "db_1"}) }},
		{"slash in backup reference", func(tx *Tx) error { return Put(tx, Backup{ID: "bck_1", ConnectionID: "a/b"}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Update(tt.fn); err == nil {
				t.Fatal("put succeeded")
			}
		})
	}
	mustView(t, s, func(tx *Tx) error {
		all, err := List[Database](tx)
		if len(all) != 0 {
			t.Errorf("rejected puts left %d records", len(all))
		}
		return err
	})
}

func TestTxMisuse(t *testing.T) {
	s := openMem(t)
	var kept *Tx
	err := s.View(func(tx *Tx) error {
		kept = tx
		return Put(tx, Database{ID: "db_1"})
	})
	if !errors.Is(err, ErrReadOnly) {
		t.Errorf("put in view: err = %v, want ErrReadOnly", err)
	}
	if _, err := Get[Database](kept, "db_1"); !errors.Is(err, ErrTxDone) {
		t.Errorf("get after view: err = %v, want ErrTxDone", err)
	}
	mustUpdate(t, s, func(tx *Tx) error { kept = tx; return nil })
	if err := Put(kept, Database{ID: "db_1"}); !errors.Is(err, ErrTxDone) {
		t.Errorf("put after update: err = %v, want ErrTxDone", err)
	}
	if _, err := kept.ListBackups(BackupQuery{}); !errors.Is(err, ErrTxDone) {
		t.Errorf("list backups after update: err = %v, want ErrTxDone", err)
	}
	if err := kept.PutSettings(Settings{}); !errors.Is(err, ErrTxDone) {
		t.Errorf("put settings after update: err = %v, want ErrTxDone", err)
	}
}

func TestUpdateErrorRollsBack(t *testing.T) {
	s := openMem(t)
	boom := errors.New("boom")
	err := s.Update(func(tx *Tx) error {
		if err := Put(tx, Database{ID: "db_1"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	mustView(t, s, func(tx *Tx) error {
		_, err := Get[Database](tx, "db_1")
		wantNotFound(t, err)
		return nil
	})
}

// TestUpdateRetriesOnConflict covers the retry path: Update calls are
// serialised, so the conflicting writer here goes to Badger directly, as
// only code inside this package can.
func TestUpdateRetriesOnConflict(t *testing.T) {
	s := openMem(t)
	calls := 0
	mustUpdate(t, s, func(tx *Tx) error {
		calls++
		item, err := tx.txn.Get([]byte(keySchema)) // read a key …
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if calls == 1 { // … that another writer changes before this commit
			if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(keySchema), v) }); err != nil {
				return err
			}
		}
		return Put(tx, Backup{ID: "bck_mine", Status: StatusSuccess})
	})
	if calls != 2 {
		t.Errorf("fn ran %d times, want 2 (one conflict)", calls)
	}
	mustView(t, s, func(tx *Tx) error {
		st, err := tx.BackupStats()
		if st.TotalBackups != 1 || st.SuccessRate != 100 {
			t.Errorf("stats = %+v, want 1 backup, 100%% success (the retried fn counted once)", st)
		}
		return err
	})
}

func TestClosedStore(t *testing.T) {
	s, err := Open(Options{InMemory: true, MasterKey: testKey(1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	for name, err := range map[string]error{
		"ping":   s.Ping(),
		"view":   s.View(func(*Tx) error { return nil }),
		"update": s.Update(func(*Tx) error { return nil }),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after close: err = %v, want ErrClosed", name, err)
		}
	}
}

// Close waits for a running transaction instead of closing Badger under it,
// and refuses the ones that start meanwhile.
func TestCloseWaitsForRunningTransactions(t *testing.T) {
	s, err := Open(Options{InMemory: true, MasterKey: testKey(1)})
	if err != nil {
		t.Fatal(err)
	}
	inside, release := make(chan struct{}), make(chan struct{})
	viewErr := make(chan error, 1)
	go func() {
		viewErr <- s.View(func(tx *Tx) error {
			close(inside)
			<-release
			_, err := tx.txn.Get([]byte(keySchema))
			return err
		})
	}()
	<-inside
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	// Close has begun once new transactions are refused.
	for !errors.Is(s.Update(func(*Tx) error { return nil }), ErrClosed) {
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a View was running", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-viewErr; err != nil {
		t.Errorf("running View: %v", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("close: %v", err)
	}
}

func TestPersistsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir, testKey(1))
	c := conn("conn_p", "p", "secret")
	mustUpdate(t, s, func(tx *Tx) error {
		return errors.Join(Put(tx, c), Put(tx, Backup{ID: "bck_p", ConnectionID: c.ID, Status: StatusSuccess, SizeBytes: 5, CreatedAt: t0}),
			tx.PutAdmin(AdminUser{Username: "admin", PasswordHash: "$argon2id$x", ChangedAt: t0}))
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openDir(t, dir, testKey(1))
	defer s.Close()
	mustView(t, s, func(tx *Tx) error {
		got, err := Get[Connection](tx, c.ID)
		if err != nil || got != c {
			t.Errorf("connection after reopen = %+v, %v", got, err)
		}
		bs, err := tx.ListBackups(BackupQuery{ConnectionID: c.ID})
		if err != nil || len(bs) != 1 {
			t.Errorf("backups after reopen = %v, %v", bs, err)
		}
		st, err := tx.BackupStats()
		if err != nil || st.TotalBackups != 1 || st.TotalSizeBytes != 5 {
			t.Errorf("stats after reopen = %+v, %v", st, err)
		}
		if u, err := tx.Admin(); err != nil || u.Username != "admin" {
			t.Errorf("admin after reopen = %+v, %v", u, err)
		}
		return nil
	})
}
