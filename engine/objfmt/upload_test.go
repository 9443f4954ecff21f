package objfmt

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/storage"
)

// pipeStore is a storage.Store whose Put is scripted: it keeps what it read
// and can fail or stop early after limit bytes.
type pipeStore struct {
	limit   int64 // stop reading after this many bytes (<0: read all)
	fail    error // returned when the limit is reached (nil: return early without error)
	lie     int64 // added to the count Put reports
	mu      sync.Mutex
	got     bytes.Buffer
	readErr error // the reader's error, if it failed
}

func (s *pipeStore) Put(_ context.Context, _ string, r io.Reader) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	src := r
	if s.limit >= 0 {
		src = io.LimitReader(r, s.limit)
	}
	n, err := io.Copy(&s.got, src)
	if err != nil {
		s.readErr = err
		return 0, err
	}
	if s.limit >= 0 && n == s.limit {
		return n, s.fail
	}
	return n + s.lie, nil
}

func (s *pipeStore) Get(context.Context, string) (io.ReadCloser, error) {
	return nil, storage.ErrNotFound
}
func (s *pipeStore) Stat(context.Context, string) (storage.Info, error) {
	return storage.Info{}, storage.ErrNotFound
}
func (s *pipeStore) Delete(context.Context, string) error                 { return nil }
func (s *pipeStore) List(context.Context, string) ([]storage.Info, error) { return nil, nil }
func (s *pipeStore) Cleanup(context.Context, string) error                { return nil }
func (s *pipeStore) String() string                                       { return "pipe" }

// testData is n bytes of compressible but not trivial text.
func testData(n int) []byte {
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "ledger", "invoice", "Ωmega", "日本語", "café"}
	r := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
		b.WriteByte(' ')
	}
	return b.Bytes()[:n]
}

func newKeyring(t testing.TB) *crypt.Keyring {
	t.Helper()
	key, err := crypt.GenerateKey()
	kr, kerr := crypt.NewKeyring("k1", map[string]string{"k1": key}, "")
	if err = errors.Join(err, kerr); err != nil {
		t.Fatal(err)
	}
	return kr
}

func sha(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }

// decoders read a compression with readers independent of the package's own.
var decoders = map[string]func(io.Reader) (io.Reader, error){
	"gzip": func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) },
	"zstd": func(r io.Reader) (io.Reader, error) { return zstd.NewReader(r) },
	"none": func(r io.Reader) (io.Reader, error) { return r, nil },
}

func decompress(t *testing.T, b []byte, compression string) []byte {
	t.Helper()
	r, err := decoders[compression](bytes.NewReader(b))
	if err == nil {
		b, err = io.ReadAll(r)
	}
	if err != nil {
		t.Fatalf("decompress %s: %v", compression, err)
	}
	return b
}

// writeChunks writes data in uneven pieces, like a dump tool's pipe.
func writeChunks(w io.Writer, data []byte) error {
	for i, step := 0, 1; i < len(data); step = step*3%65521 + 7 {
		j := min(i+step, len(data))
		if _, err := w.Write(data[i:j]); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// TestPipelineRoundTrip: every compression, with and without encryption:
// count, checksum of the compressed stream and of the stored bytes, stored
// size, and the data itself survive the pipeline.
func TestPipelineRoundTrip(t *testing.T) {
	kr := newKeyring(t)
	data := testData(3<<20 + 12345)
	for _, comp := range []string{"zstd", "gzip", "none"} {
		for _, enc := range []bool{false, true} {
			name := comp
			var k *crypt.Keyring
			if enc {
				name, k = comp+"+enc", kr
			}
			t.Run(name, func(t *testing.T) {
				st := &pipeStore{limit: -1}
				u, err := StartUpload(context.Background(), st, "k", comp, k)
				if err != nil {
					t.Fatal(err)
				}
				if err := writeChunks(u.Writer(), data); err != nil {
					t.Fatalf("write: %v", err)
				}
				res, err := u.Finish()
				if err != nil {
					t.Fatalf("finish: %v", err)
				}
				stored := st.got.Bytes()
				if res.N != int64(len(stored)) || u.stored.n != res.N || u.raw.n != int64(len(data)) {
					t.Fatalf("counts: put %d stored %d raw %d; have %d stored, %d raw", res.N, u.stored.n, u.raw.n, len(stored), len(data))
				}
				if u.StoredChecksum() != sha(stored) {
					t.Error("stored checksum is not the sha256 of the stored bytes")
				}
				compressed := stored
				if enc {
					r, err := crypt.NewReader(bytes.NewReader(stored), kr)
					if err != nil {
						t.Fatal(err)
					}
					if compressed, err = io.ReadAll(r); err != nil {
						t.Fatalf("decrypt: %v", err)
					}
				}
				if u.Checksum() != sha(compressed) {
					t.Error("checksum is not the sha256 of the compressed stream")
				}
				if !enc && u.Checksum() != u.StoredChecksum() {
					t.Error("unencrypted: checksums differ")
				}
				if comp != "none" && len(compressed) >= len(data) {
					t.Errorf("%s did not compress: %d → %d", comp, len(data), len(compressed))
				}
				if !bytes.Equal(decompress(t, compressed, comp), data) {
					t.Error("data changed in the pipeline")
				}
			})
		}
	}
}

// TestPipelineStorageFailures: a store that fails, stops reading early, or
// misreports its count never yields a successful upload, and the dump side
// sees the failure instead of blocking.
func TestPipelineStorageFailures(t *testing.T) {
	boom := errors.New("disk on fire")
	data := testData(2 << 20)
	tests := []struct {
		name    string
		st      *pipeStore
		wantErr string
	}{
		{"fails mid-stream", &pipeStore{limit: 100000, fail: boom}, "disk on fire"},
		{"returns early", &pipeStore{limit: 100000}, "storage finished before the stream ended"},
		{"miscounts", &pipeStore{limit: -1, lie: -1}, "storage acknowledged"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := StartUpload(context.Background(), tc.st, "k", "none", nil)
			if err != nil {
				t.Fatal(err)
			}
			werr := writeChunks(u.Writer(), data)
			var ferr error
			if werr != nil {
				_, ferr = u.Abort(werr)
			} else {
				_, ferr = u.Finish()
			}
			if ferr == nil || !strings.Contains(ferr.Error(), tc.wantErr) {
				t.Fatalf("write err %v, finish err %v; want %q", werr, ferr, tc.wantErr)
			}
		})
	}
}

// TestPipelineAbort: a dump failure reaches the store as a read error, so
// the store can discard what it had.
func TestPipelineAbort(t *testing.T) {
	st := &pipeStore{limit: -1}
	u, err := StartUpload(context.Background(), st, "k", "zstd", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeChunks(u.Writer(), testData(1<<20)); err != nil {
		t.Fatal(err)
	}
	dumpErr := errors.New("pg_dump killed by signal killed")
	if _, err := u.Abort(dumpErr); !errors.Is(err, dumpErr) {
		t.Errorf("abort = %v, want the dump error", err)
	}
	if !errors.Is(st.readErr, dumpErr) {
		t.Errorf("store's reader error = %v, want the dump error", st.readErr)
	}
}

func TestPipelineUnknownCompression(t *testing.T) {
	if _, err := StartUpload(context.Background(), &pipeStore{limit: -1}, "k", "lz4", nil); err == nil ||
		!strings.Contains(err.Error(), `unknown compression "lz4"`) {
		t.Fatalf("err = %v", err)
	}
}

// failAfter accepts n bytes, then fails every write.
type failAfter struct {
	n   int
	err error
	got bytes.Buffer
}

func (f *failAfter) Write(p []byte) (int, error) {
	if f.got.Len()+len(p) > f.n {
		return 0, f.err
	}
	return f.got.Write(p)
}

// TestAsyncWriter: data arrives intact and in order across the goroutine
// boundary; a downstream failure reaches the writer (so the dump tool is
// stopped) instead of blocking it, and Close reports it, more than once.
func TestAsyncWriter(t *testing.T) {
	data := testData(asyncChunk*asyncChunks*2 + 777)
	var got bytes.Buffer
	a := newAsyncWriter(&got)
	if err := writeChunks(a, data); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("close %v; %d bytes arrived of %d, equal %v", err, got.Len(), len(data), bytes.Equal(got.Bytes(), data))
	}

	boom := errors.New("sink broke")
	f := &failAfter{n: asyncChunk, err: boom}
	a = newAsyncWriter(f)
	err := writeChunks(a, data)
	if !errors.Is(err, boom) {
		t.Fatalf("write after the sink failed = %v, want %v", err, boom)
	}
	for range 2 {
		if err := a.Close(); !errors.Is(err, boom) {
			t.Fatalf("close = %v, want %v", err, boom)
		}
	}
}
