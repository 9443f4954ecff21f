package state

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

func takeAfter(t *testing.T, c *Changes) []RecordChange {
	t.Helper()
	select {
	case <-c.Ready():
	default:
		t.Fatal("Ready not signalled after a commit")
	}
	return c.Take()
}

// TestSubscribeRecords: a record subscriber learns which record of its
// kinds was created, updated or deleted, coalesced per record; other kinds
// are not its business; config status changes carry no ID; bursts beyond
// the bounds collapse to one "changed" per kind.
func TestSubscribeRecords(t *testing.T) {
	s := openMem(t)
	c := s.SubscribeRecords(KindBackup, KindConfigStatus)
	defer c.Stop()
	now := time.Now().UTC()
	b := Backup{ID: "bck_a", Status: StatusRunning, CreatedAt: now}
	put := func(recs ...Record) {
		t.Helper()
		if err := s.Update(func(tx *Tx) error {
			for _, r := range recs {
				var err error
				switch r := r.(type) {
				case Backup:
					err = Put(tx, r)
				case Connection:
					err = Put(tx, r)
				}
				if err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	put(b)
	if got, want := takeAfter(t, c), []RecordChange{{KindBackup, "bck_a", ChangeCreated}}; !reflect.DeepEqual(got, want) {
		t.Errorf("after create: %+v, want %+v", got, want)
	}
	b.Status = StatusSuccess
	put(b, Connection{Meta: Meta{ID: "conn_x", CreatedAt: now}})
	if got, want := takeAfter(t, c), []RecordChange{{KindBackup, "bck_a", ChangeUpdated}}; !reflect.DeepEqual(got, want) {
		t.Errorf("after update (and a connection): %+v, want %+v", got, want)
	}
	// Two commits before the reader wakes: one entry per record.
	put(Backup{ID: "bck_b", Status: StatusRunning, CreatedAt: now})
	put(Backup{ID: "bck_b", Status: StatusSuccess, CreatedAt: now})
	if err := s.Update(func(tx *Tx) error { return Delete[Backup](tx, "bck_a") }); err != nil {
		t.Fatal(err)
	}
	want := []RecordChange{{KindBackup, "bck_b", ChangeCreated}, {KindBackup, "bck_a", ChangeDeleted}}
	if got := takeAfter(t, c); !reflect.DeepEqual(got, want) {
		t.Errorf("coalesced: %+v, want %+v", got, want)
	}
	if err := s.Update(func(tx *Tx) error { return tx.PutConfigStatus(ConfigStatus{Generation: 2}) }); err != nil {
		t.Fatal(err)
	}
	if got, want := takeAfter(t, c), []RecordChange{{KindConfigStatus, "", ChangeUpdated}}; !reflect.DeepEqual(got, want) {
		t.Errorf("config status: %+v, want %+v", got, want)
	}
	put(Connection{Meta: Meta{ID: "conn_y", CreatedAt: now}})
	select {
	case <-c.Ready():
		t.Errorf("signalled for a kind it did not subscribe to: %+v", c.Take())
	default:
	}

	// One transaction of more records than a transaction names.
	var many []Record
	for i := range maxTxChanges + 10 {
		many = append(many, Backup{ID: fmt.Sprintf("bck_m%04d", i), Status: StatusSuccess, CreatedAt: now})
	}
	put(many...)
	if got := takeAfter(t, c); !reflect.DeepEqual(got, []RecordChange{{Kind: KindBackup, Change: ChangeMany}}) {
		t.Errorf("a big transaction: %d changes, first %+v", len(got), got[0])
	}
	// More unread changes than a subscriber holds.
	for i := range maxPendingChanges + 10 {
		put(Backup{ID: fmt.Sprintf("bck_p%04d", i), Status: StatusSuccess, CreatedAt: now})
	}
	if got := takeAfter(t, c); !reflect.DeepEqual(got, []RecordChange{{Kind: KindBackup, Change: ChangeMany}}) {
		t.Errorf("an overflowing reader: %d changes, first %+v", len(got), got[0])
	}
	c.Stop()
	put(Backup{ID: "bck_z", CreatedAt: now})
	select {
	case <-c.Ready():
		t.Error("signalled after Stop")
	default:
	}
}
