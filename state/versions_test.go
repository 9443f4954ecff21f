package state

import (
	"errors"
	"testing"
)

// TestVersionFollowsWritesOfItsKinds: a committed write moves the version of
// the kinds it touched and of every set that includes one of them, and
// leaves the others; a failed Update and a read move nothing; a store opened
// again draws another epoch.
func TestVersionFollowsWritesOfItsKinds(t *testing.T) {
	s := openMem(t)
	sched := s.Version(KindSchedule)
	conns := s.Version(KindConnection)
	both := s.Version(KindSchedule, KindBackup)

	mustUpdate(t, s, func(tx *Tx) error { return Put(tx, conn("con_1", "a", "pw")) })
	if s.Version(KindConnection) == conns {
		t.Error("a connection write left the connection version")
	}
	if s.Version(KindSchedule) != sched || s.Version(KindSchedule, KindBackup) != both {
		t.Error("a connection write moved the schedule version")
	}

	mustUpdate(t, s, func(tx *Tx) error { return Put(tx, Backup{ID: "bck_1", CreatedAt: t0}) })
	if s.Version(KindSchedule, KindBackup) == both {
		t.Error("a backup write left the version of {schedule, backup}")
	}
	if s.Version(KindSchedule) != sched {
		t.Error("a backup write moved the schedule version")
	}

	before := s.Version(KindConnection, KindSchedule, KindBackup)
	err := s.Update(func(tx *Tx) error {
		if err := Put(tx, conn("con_2", "b", "pw")); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("the failing Update returned no error")
	}
	mustView(t, s, func(tx *Tx) error { _, err := List[Connection](tx); return err })
	if s.Version(KindConnection, KindSchedule, KindBackup) != before {
		t.Error("a rolled-back Update or a read moved a version")
	}

	other := openMem(t)
	if other.Epoch() == s.Epoch() {
		t.Error("two opens drew the same epoch")
	}
}
