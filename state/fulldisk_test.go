package state

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// mountTmpfs mounts a tmpfs of size (mount's syntax: "32m") on a new
// directory and unmounts it when the test ends. It needs root: without it the
// test is skipped, and fails under CI=true (CI runs as root).
func mountTmpfs(tb testing.TB, size string) string {
	tb.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			tb.Fatal("mounting a tmpfs needs root (CI=true)")
		}
		tb.Skip("mounting a tmpfs needs root")
	}
	dir := tb.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		tb.Fatalf("mount tmpfs on %s: %v\n%s", dir, err, out)
	}
	tb.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			tb.Errorf("umount %s: %v\n%s", dir, err, out)
		}
	})
	return dir
}

// fillDisk writes path until its file system has no space left.
func fillDisk(tb testing.TB, path string) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 256<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			tb.Fatalf("fill %s: %v", path, err)
		}
	}
}

// TestFullDiskRefusesWrites fills a real tmpfs under an open store. Before the
// guard, the next Update died of SIGBUS in Badger's memtable.go (it writes its
// WAL through an mmap'ed sparse file); now it is refused with ErrNoSpace,
// reads go on, and writes work again once space is freed.
func TestFullDiskRefusesWrites(t *testing.T) {
	dir := mountTmpfs(t, "32m")
	s, err := Open(Options{Dir: dir, MasterKey: testKey(1), GCInterval: -1, MinFreeBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := putConn(s, "conn_before"); err != nil {
		t.Fatal(err)
	}
	fill := filepath.Join(dir, "fill")
	fillDisk(t, fill)

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
