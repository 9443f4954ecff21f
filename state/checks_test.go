package state

import (
	"fmt"
	"testing"
	"time"
)

// TestBackupChecksBounded adds more checks than are kept: the newest
// MaxBackupChecks survive, newest first, and round-trip through the store.
func TestBackupChecksBounded(t *testing.T) {
	s := openMem(t)
	b := Backup{ID: NewID(KindBackup), Status: StatusSuccess, CreatedAt: time.Now().UTC()}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range MaxBackupChecks + 5 {
		b.AddCheck(BackupCheck{Kind: CheckVerify, Mode: "quick", At: start.Add(time.Duration(i) * time.Minute),
			Result: "passed", Error: fmt.Sprint(i)})
	}
	if err := s.Update(func(tx *Tx) error { return Put(tx, b) }); err != nil {
		t.Fatal(err)
	}
	var got Backup
	if err := s.View(func(tx *Tx) (err error) { got, err = Get[Backup](tx, b.ID); return err }); err != nil {
		t.Fatal(err)
	}
	if len(got.Checks) != MaxBackupChecks {
		t.Fatalf("%d checks kept, want %d", len(got.Checks), MaxBackupChecks)
	}
	for i, c := range got.Checks {
		want := MaxBackupChecks + 4 - i
		if c.Error != fmt.Sprint(want) || !c.At.Equal(start.Add(time.Duration(want)*time.Minute)) {
			t.Errorf("check %d is %+v, want number %d (newest first)", i, c, want)
		}
	}
}
