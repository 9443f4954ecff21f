package storage_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/engine/storage/storagetest"
)

// files lists the regular files under root, relative to it.
func files(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return err
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return out
}

func TestLocalCleanup(t *testing.T) {
	root := t.TempDir()
	s := mustOpen(t, storage.Config{Type: storage.TypeLocal, Path: root})
	testCleanup(t, s, func(key string) {
		dir := filepath.Join(root, filepath.Dir(key))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		stale := filepath.Join(dir, "."+filepath.Base(key)+".tmp-12345")
		if err := os.WriteFile(stale, []byte("half a backup"), 0o600); err != nil {
			t.Fatal(err)
		}
	})
	if got := files(t, root); len(got) != 1 || got[0] != filepath.Join("clean", "running.bin") {
		t.Fatalf("files after Cleanup and Put = %q, want only clean/running.bin", got)
	}
}

func TestLocalLayoutAndString(t *testing.T) {
	root := t.TempDir()
	s := mustOpen(t, storage.Config{Type: storage.TypeLocal, Path: root})
	if got := s.String(); got != "local:"+root {
		t.Errorf("String() = %q, want %q", got, "local:"+root)
	}
	key := "backups/Production PG/mydb/bck_1-20250101-020000.pgdump.zst"
	if _, err := s.Put(testCtx(t), key, strings.NewReader("dump")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(key)))
	if err != nil || string(b) != "dump" {
		t.Fatalf("file at the key's path = %q, %v", b, err)
	}
	fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(key)))
	if err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("backup file mode = %v, %v; want no group/other access", fi.Mode(), err)
	}
}

// TestLocalDiskFullTmpfs fills a 1 MiB tmpfs (needs root and mount rights).
func TestLocalDiskFullTmpfs(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (covered by TestLocalDiskFullInjected): %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	s := mustOpen(t, storage.Config{Type: storage.TypeLocal, Path: dir})

	_, err := s.Put(testCtx(t), "backups/big.bin", storagetest.Data(1, 2<<20))
	t.Logf("Put error: %v", err)
	if !errors.Is(err, storage.ErrNoSpace) || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("Put on a full disk: err = %v, want ErrNoSpace with the OS message", err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("files left after a full disk: %q", got)
	}
	if _, err := s.Put(testCtx(t), "backups/small.bin", bytes.NewReader(make([]byte, 1000))); err != nil {
		t.Fatalf("Put after freeing space: %v", err)
	}
}
