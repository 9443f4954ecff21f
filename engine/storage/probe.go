package storage

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// ProbePrefix is where Probe writes its test objects.
const ProbePrefix = ".jagad-probe/"

// Probe checks that s works end to end: it puts a small object under
// ".jagad-probe/<random>", reads it back, compares and deletes it. The error
// names the failing step ("put probe: …", "read back: …") and carries the
// backend's message. A store configured with an Object Lock must also have
// a bucket that can hold it ("object lock: …"); the probe object itself is
// stored without a retention, so it can be deleted.
func Probe(ctx context.Context, s Store) error {
	if err := probe(ctx, s); err != nil {
		return err
	}
	if lc, ok := s.(ObjectLockChecker); ok {
		if err := lc.CheckObjectLock(ctx); err != nil {
			return fmt.Errorf("object lock: %w", err)
		}
	}
	return nil
}

func probe(ctx context.Context, s Store) error {
	var rnd [12]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	id := hex.EncodeToString(rnd[:])
	key := ProbePrefix + id
	want := []byte("jagad storage probe " + id + "\n")

	n, err := s.Put(ctx, key, bytes.NewReader(want))
	if err != nil {
		return fmt.Errorf("put probe: %w", err)
	}
	if n != int64(len(want)) {
		_ = s.Delete(ctx, key)
		return fmt.Errorf("put probe: stored %d bytes, want %d", n, len(want))
	}
	got, readErr := readBack(ctx, s, key, len(want))
	delErr := s.Delete(ctx, key)
	switch {
	case readErr != nil:
		return fmt.Errorf("read back: %w", readErr)
	case !bytes.Equal(got, want):
		return errors.New("read back: content differs from what was written")
	case delErr != nil:
		return fmt.Errorf("delete probe: %w", delErr)
	}
	return nil
}

func readBack(ctx context.Context, s Store, key string, size int) ([]byte, error) {
	rc, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, int64(size)+1))
}
