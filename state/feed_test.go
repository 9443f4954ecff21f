package state

import (
	"errors"
	"testing"
	"time"
)

// signals drains ch and reports how many values were pending (0 or 1).
func signals(ch <-chan struct{}) int {
	n := 0
	for {
		select {
		case <-ch:
			n++
		default:
			return n
		}
	}
}

func TestSubscribeCoalescesAndFilters(t *testing.T) {
	s := openMem(t)
	backups, cancelB := s.Subscribe(KindBackup)
	defer cancelB()
	conns, cancelC := s.Subscribe(KindConnection, KindDatabase)
	defer cancelC()
	all, cancelAll := s.Subscribe()
	defer cancelAll()

	for i := range 5 {
		mustUpdate(t, s, func(tx *Tx) error { return Put(tx, Backup{ID: NewID(KindBackup), CreatedAt: t0.Add(time.Duration(i))}) })
	}
	if n := signals(backups); n != 1 {
		t.Errorf("backup subscriber: %d pending signals after 5 commits, want 1 (coalesced)", n)
	}
	if n := signals(all); n != 1 {
		t.Errorf("all-kinds subscriber: %d pending signals, want 1", n)
	}
	if n := signals(conns); n != 0 {
		t.Errorf("connection subscriber woken by backups")
	}

	tests := []struct {
		name                string
		fn                  func(*Tx) error
		backup, conn, anyOf int
	}{
		{"database write", func(tx *Tx) error { return Put(tx, Database{ID: "db_1"}) }, 0, 1, 1},
		{"read only update", func(tx *Tx) error { _, err := List[Backup](tx); return err }, 0, 0, 0},
		{"failed update", func(tx *Tx) error { _ = Put(tx, Backup{ID: "bck_x"}); return errors.New("no") }, 0, 0, 0},
		{"settings", func(tx *Tx) error { return tx.PutSettings(Settings{}) }, 0, 0, 1},
		{"backup and connection", func(tx *Tx) error {
			return errors.Join(Put(tx, Backup{ID: "bck_y"}), Put(tx, conn("conn_1", "c", "")))
		}, 1, 1, 1},
	}
	for _, tt := range tests {
		_ = s.Update(tt.fn)
		got := [3]int{signals(backups), signals(conns), signals(all)}
		if want := [3]int{tt.backup, tt.conn, tt.anyOf}; got != want {
			t.Errorf("%s: signals (backup, conn, all) = %v, want %v", tt.name, got, want)
		}
	}

	cancelB()
	cancelB() // idempotent
	mustUpdate(t, s, func(tx *Tx) error { return Put(tx, Backup{ID: "bck_z"}) })
	if n := signals(backups); n != 0 {
		t.Errorf("cancelled subscriber still signalled")
	}
	if n := signals(all); n != 1 {
		t.Errorf("other subscriber lost its signal after a cancel")
	}
}
