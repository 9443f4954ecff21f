// Package tmpfstest gives tests a real file system they can fill: a small
// tmpfs mounted for one test, and a writer that runs it out of space. The
// state tests (Badger on a full disk) and cmd/jagad's (the daemon on a full
// disk) share it. It imports nothing of ours.
package tmpfstest

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// Mount mounts a tmpfs of size (mount's syntax: "32m") on a new directory
// and unmounts it when the test ends. It needs root: without it the test is
// skipped, and fails under CI=true (CI runs as root).
func Mount(tb testing.TB, size string) string {
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

// Fill writes path until its file system has no space left.
func Fill(tb testing.TB, path string) {
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
