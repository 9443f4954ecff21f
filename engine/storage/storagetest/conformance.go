// Package storagetest holds the conformance suite every storage.Store
// implementation must pass.
package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/storage"
)

// LargeSize is the size of the object that must go through multipart upload.
const LargeSize = 20 << 20

// RunConformance runs the suite against the Store open returns (called once;
// the subtests use distinct prefixes). The Store must also implement
// storage.IncompleteLister so the suite can prove failed Puts leave nothing.
func RunConformance(t *testing.T, open func(t *testing.T) storage.Store) {
	s := open(t)
	if _, ok := s.(storage.IncompleteLister); !ok {
		t.Fatalf("%s does not implement storage.IncompleteLister", s)
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Store)
	}{
		{"PutGetStatDelete", testPutGetStatDelete},
		{"Missing", testMissing},
		{"ListPrefix", testListPrefix},
		{"Empty", testEmpty},
		{"Large", testLarge},
		{"SizeBoundaries", testBoundaries},
		{"Overwrite", testOverwrite},
		{"ReaderErrorLeavesNothing", testReaderError},
		{"CancelLeavesNothing", testCancel},
		{"InvalidKeys", testInvalidKeys},
		{"Probe", testProbe},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, s) })
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Data returns a deterministic pseudo-random stream of size bytes.
func Data(seed uint64, size int64) io.Reader {
	var key [32]byte
	key[0] = byte(seed)
	key[1] = byte(seed >> 8)
	return io.LimitReader(rand.NewChaCha8(key), size)
}

func put(t *testing.T, s storage.Store, key string, data []byte) {
	t.Helper()
	n, err := s.Put(ctxT(t), key, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	if n != int64(len(data)) {
		t.Fatalf("Put(%q) = %d bytes, want %d", key, n, len(data))
	}
}

func get(t *testing.T, s storage.Store, key string) []byte {
	t.Helper()
	rc, err := s.Get(ctxT(t), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%q): read: %v", key, err)
	}
	return b
}

func testPutGetStatDelete(t *testing.T, s storage.Store) {
	const key = "conf/basic/bck_1-20250101-020000.sql.gz"
	want := []byte("hello, backup\n")
	before := time.Now().Add(-time.Hour)
	put(t, s, key, want)
	if got := get(t, s, key); !bytes.Equal(got, want) {
		t.Fatalf("Get = %q, want %q", got, want)
	}
	info, err := s.Stat(ctxT(t), key)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if info.Key != key || info.Size != int64(len(want)) || info.ModTime.Before(before) || info.ModTime.After(time.Now().Add(time.Hour)) {
		t.Fatalf("Stat = %+v, want key %q size %d and a current ModTime", info, key, len(want))
	}
	if err := s.Delete(ctxT(t), key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Stat(ctxT(t), key); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Stat after Delete: err = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctxT(t), key); err != nil {
		t.Fatalf("Delete of a missing key: %v, want nil", err)
	}
}

func testMissing(t *testing.T, s storage.Store) {
	const key = "conf/missing/never-written"
	if _, err := s.Get(ctxT(t), key); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Stat(ctxT(t), key); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Stat(ctxT(t), "conf/missing/dir/deeper"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat of a deeper key: err = %v, want ErrNotFound", err)
	}
}

func testListPrefix(t *testing.T, s storage.Store) {
	objs := map[string]string{
		"conf/list/a/1":              "one",
		"conf/list/a/2":              "two!",
		"conf/list/a/with space.sql": "spaced",
		"conf/list/ab/3":             "three",
		"conf/list/b/4":              "four",
	}
	for k, v := range objs {
		put(t, s, k, []byte(v))
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"conf/list/a/", []string{"conf/list/a/1", "conf/list/a/2", "conf/list/a/with space.sql"}},
		{"conf/list/a", []string{"conf/list/a/1", "conf/list/a/2", "conf/list/a/with space.sql", "conf/list/ab/3"}},
		{"conf/list/", []string{"conf/list/a/1", "conf/list/a/2", "conf/list/a/with space.sql", "conf/list/ab/3", "conf/list/b/4"}},
		{"conf/list/zzz/", nil},
	}
	for _, tt := range tests {
		infos, err := s.List(ctxT(t), tt.prefix)
		if err != nil {
			t.Fatalf("List(%q): %v", tt.prefix, err)
		}
		var got []string
		for _, in := range infos {
			got = append(got, in.Key)
			if in.Size != int64(len(objs[in.Key])) {
				t.Errorf("List(%q): %s size %d, want %d", tt.prefix, in.Key, in.Size, len(objs[in.Key]))
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("List(%q) = %q, want %q", tt.prefix, got, tt.want)
		}
	}
}

func testEmpty(t *testing.T, s storage.Store) {
	const key = "conf/empty/zero"
	put(t, s, key, nil)
	if got := get(t, s, key); len(got) != 0 {
		t.Fatalf("Get = %d bytes, want 0", len(got))
	}
	if info, err := s.Stat(ctxT(t), key); err != nil || info.Size != 0 {
		t.Fatalf("Stat = %+v, %v; want size 0", info, err)
	}
}

// smallReads hands out at most 7000 bytes per Read, like a pipe would.
type smallReads struct{ r io.Reader }

func (s smallReads) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), 7000)]) }

func testLarge(t *testing.T, s storage.Store) {
	const key = "conf/large/20mib.bin"
	wantSum := sha256.New()
	_, _ = io.Copy(wantSum, Data(7, LargeSize))
	n, err := s.Put(ctxT(t), key, smallReads{Data(7, LargeSize)})
	if err != nil || n != LargeSize {
		t.Fatalf("Put = %d, %v; want %d bytes", n, err, LargeSize)
	}
	rc, err := s.Get(ctxT(t), key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer rc.Close()
	gotSum := sha256.New()
	if m, err := io.Copy(gotSum, rc); err != nil || m != LargeSize {
		t.Fatalf("Get read %d bytes, %v; want %d", m, err, LargeSize)
	}
	if !bytes.Equal(gotSum.Sum(nil), wantSum.Sum(nil)) {
		t.Fatal("Get: content differs from what was put")
	}
	if info, err := s.Stat(ctxT(t), key); err != nil || info.Size != LargeSize {
		t.Fatalf("Stat = %+v, %v; want size %d", info, err, LargeSize)
	}
}

// testBoundaries puts sizes around the 64 KiB first read and the default
// 8 MiB part size (exactly one part, one part plus a byte).
func testBoundaries(t *testing.T, s storage.Store) {
	for i, size := range []int64{1, 64 << 10, 64<<10 + 1, 8 << 20, 8<<20 + 1} {
		key := fmt.Sprintf("conf/sizes/%d", size)
		want, _ := io.ReadAll(Data(uint64(20+i), size))
		put(t, s, key, want)
		if got := get(t, s, key); !bytes.Equal(got, want) {
			t.Fatalf("size %d: Get returned %d different bytes", size, len(got))
		}
	}
}

func testOverwrite(t *testing.T, s storage.Store) {
	const key = "conf/overwrite/obj"
	put(t, s, key, []byte("first version, longer"))
	put(t, s, key, []byte("second"))
	if got := get(t, s, key); string(got) != "second" {
		t.Fatalf("Get after overwrite = %q, want %q", got, "second")
	}
	infos, err := s.List(ctxT(t), "conf/overwrite/")
	if err != nil || len(infos) != 1 || infos[0].Size != 6 {
		t.Fatalf("List after overwrite = %+v, %v; want one object of 6 bytes", infos, err)
	}
}

var errBoom = errors.New("boom: dump tool died")

// failingReader streams data and then fails (at) or cancels (cancel != nil).
type failingReader struct {
	r      io.Reader
	read   int64
	at     int64
	cancel context.CancelFunc
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.read >= f.at {
		if f.cancel == nil {
			return 0, errBoom
		}
		f.cancel() // keep delivering data: the store must notice ctx by itself
	}
	n, err := f.r.Read(p[:min(int64(len(p)), max(f.at-f.read, 1<<16))])
	f.read += int64(n)
	return n, err
}

func testReaderError(t *testing.T, s storage.Store) {
	for _, size := range []int64{1000, 12 << 20} { // single request and multipart
		key := "conf/readerr/obj"
		_, err := s.Put(ctxT(t), key, &failingReader{r: Data(3, LargeSize), at: size})
		if !errors.Is(err, errBoom) {
			t.Fatalf("Put failing after %d bytes: err = %v, want the reader's error", size, err)
		}
		assertNothing(t, s, "conf/readerr/", key)
	}
}

func testCancel(t *testing.T, s storage.Store) {
	for _, size := range []int64{1000, 12 << 20} {
		key := "conf/cancel/obj"
		ctx, cancel := context.WithCancel(ctxT(t))
		_, err := s.Put(ctx, key, &failingReader{r: Data(4, LargeSize), at: size, cancel: cancel})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Put cancelled after %d bytes: err = %v, want context.Canceled", size, err)
		}
		assertNothing(t, s, "conf/cancel/", key)
	}
}

// assertNothing checks that key does not exist and nothing is pending under prefix.
func assertNothing(t *testing.T, s storage.Store, prefix, key string) {
	t.Helper()
	if _, err := s.Stat(ctxT(t), key); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat after failed Put: err = %v, want ErrNotFound", err)
	}
	if infos, err := s.List(ctxT(t), prefix); err != nil || len(infos) != 0 {
		t.Errorf("List after failed Put = %+v, %v; want nothing", infos, err)
	}
	left, err := s.(storage.IncompleteLister).Incomplete(ctxT(t), prefix)
	if err != nil || len(left) != 0 {
		t.Errorf("Incomplete after failed Put = %q, %v; want nothing", left, err)
	}
}

func testInvalidKeys(t *testing.T, s storage.Store) {
	for _, key := range []string{"", "../escape", "conf/../../escape", "/abs", "conf//double", "conf/trailing/", "conf/ctl\x01", "conf/."} {
		if _, err := s.Put(ctxT(t), key, strings.NewReader("x")); err == nil {
			t.Errorf("Put(%q) succeeded, want an error", key)
		}
	}
	if _, err := s.List(ctxT(t), "../"); err == nil {
		t.Error(`List("../") succeeded, want an error`)
	}
}

func testProbe(t *testing.T, s storage.Store) {
	if err := storage.Probe(ctxT(t), s); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	if infos, err := s.List(ctxT(t), storage.ProbePrefix); err != nil || len(infos) != 0 {
		t.Fatalf("probe objects left: %+v, %v", infos, err)
	}
	if err := s.Cleanup(ctxT(t), ""); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
}
