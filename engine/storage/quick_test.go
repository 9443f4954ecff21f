package storage_test

import (
	"errors"
	"testing"

	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/engine/storage/s3test"
)

// TestQuickCheck: versitygw reports a one-part object's SHA-256, so a
// quick check compares it (and catches a wrong one) without a read; a
// multipart object and a local file are checked by size only.
func TestQuickCheck(t *testing.T) {
	cfg := s3test.StartVersity(t)
	cfg.PartSize = 5 << 20
	s3 := mustOpen(t, cfg)
	local := mustOpen(t, storage.Config{Type: storage.TypeLocal, Path: t.TempDir()})
	small, big := data(t, 11, 4000), data(t, 12, 11<<20)
	for _, st := range []storage.Store{s3, local} {
		putBytes(t, st, "backups/small", small)
		putBytes(t, st, "backups/big", big)
	}
	for _, c := range []struct {
		name    string
		st      storage.Store
		key     string
		b       []byte
		checked bool
	}{
		{"s3 one part", s3, "backups/small", small, true},
		{"s3 multipart", s3, "backups/big", big, false},
		{"local", local, "backups/small", small, false},
	} {
		want := storage.Expect{Size: int64(len(c.b)), SHA256: hexSHA(c.b)}
		_, checked, err := storage.QuickCheck(testCtx(t), c.st, c.key, want)
		if err != nil || checked != c.checked {
			t.Errorf("%s: QuickCheck = %v, %v; want nil, sha256 checked %v", c.name, checked, err, c.checked)
		}
		_, _, err = storage.QuickCheck(testCtx(t), c.st, c.key, storage.Expect{Size: want.Size + 1})
		if !errors.Is(err, storage.ErrChecksum) {
			t.Errorf("%s: QuickCheck with a wrong size = %v, want ErrChecksum", c.name, err)
		}
		_, checked, err = storage.QuickCheck(testCtx(t), c.st, c.key, storage.Expect{Size: want.Size, SHA256: hexSHA(big[:10])})
		if c.checked != errors.Is(err, storage.ErrChecksum) || checked != c.checked {
			t.Errorf("%s: QuickCheck with a wrong sha256 = %v, %v", c.name, checked, err)
		}
	}
	if _, _, err := storage.QuickCheck(testCtx(t), s3, "backups/missing", storage.Expect{}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("QuickCheck of a missing object = %v, want ErrNotFound", err)
	}
}
