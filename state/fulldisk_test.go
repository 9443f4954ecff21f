package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jagad/jagad/state/tmpfstest"
)

// TestFullDiskRefusesWrites fills a real tmpfs under an open store. Before the
// guard, the next Update died of SIGBUS in Badger's memtable.go (it writes its
// WAL through an mmap'ed sparse file); now it is refused with ErrNoSpace,
// reads go on, and writes work again once space is freed.
func TestFullDiskRefusesWrites(t *testing.T) {
	dir := tmpfstest.Mount(t, "32m")
	s, err := Open(Options{Dir: dir, MasterKey: testKey(1), GCInterval: -1, MinFreeBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := putConn(s, "conn_before"); err != nil {
		t.Fatal(err)
	}
	fill := filepath.Join(dir, "fill")
	tmpfstest.Fill(t, fill)

	// Enough data to cross into pages of the WAL the tmpfs cannot allocate.
	big := func(tx *Tx) error {
		for range 50 {
			c := conn(NewID(KindConnection), strings.Repeat("x", 4000), "pw")
			if err := Put(tx, c); err != nil {
				return err
			}
		}
		return nil
	}
	wantNoSpace(t, s.Update(big))
	mustView(t, s, func(tx *Tx) error {
		_, err := Get[Connection](tx, "conn_before")
		return err
	})

	if err := os.Remove(fill); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(big); err != nil {
		t.Fatalf("write once space was freed: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}
