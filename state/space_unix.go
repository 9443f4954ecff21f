//go:build unix

package state

import (
	"fmt"
	"os"
	"syscall"
)

// freeBytes returns the bytes of dir's file system available to an
// unprivileged user (the reserved blocks of root are not counted: they are
// not a margin to plan with). The conversions are needed: the field types
// differ between platforms.
func freeBytes(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}

// allocatedBytes is the disk space a file occupies (sparse files less than
// their size).
func allocatedBytes(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Blocks) * 512
	}
	return uint64(fi.Size())
}
