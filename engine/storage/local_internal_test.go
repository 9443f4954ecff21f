package storage

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
)

// fullFile fails writes once limit bytes are written, like a full disk.
type fullFile struct {
	*os.File
	limit int64
}

func (f *fullFile) Write(p []byte) (int, error) {
	if int64(len(p)) > f.limit {
		n, _ := f.File.Write(p[:f.limit])
		f.limit = 0
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	f.limit -= int64(len(p))
	return f.File.Write(p)
}

func TestLocalDiskFullInjected(t *testing.T) {
	root := t.TempDir()
	l := NewLocal(root)
	l.createTemp = func(dir, pattern string) (tempFile, error) {
		f, err := os.CreateTemp(dir, pattern)
		if err != nil {
			return nil, err
		}
		return &fullFile{File: f, limit: 100 << 10}, nil
	}
	_, err := l.Put(context.Background(), "backups/big.bin", strings.NewReader(strings.Repeat("x", 1<<20)))
	t.Logf("Put error: %v", err)
	if !errors.Is(err, ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Put on a full disk: err = %v, want ErrNoSpace wrapping ENOSPC", err)
	}
	left, err := l.Incomplete(context.Background(), "")
	if err != nil || len(left) != 0 {
		t.Fatalf("leftovers after a full disk: %q, %v", left, err)
	}
	if _, err := l.Stat(context.Background(), "backups/big.bin"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Stat after a full disk: %v, want ErrNotFound", err)
	}
}

func TestLocalRefusesEscapes(t *testing.T) {
	l := NewLocal(t.TempDir())
	for _, key := range []string{"../x", "a/../../x", "/etc/passwd", "a/.b.tmp-1"} {
		if _, err := l.path(key); err == nil {
			t.Errorf("path(%q) accepted, want an error", key)
		}
	}
}
