package objfmt

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"
)

func fanDests(stores ...*pipeStore) []Dest {
	d := make([]Dest, len(stores))
	for i, s := range stores {
		d[i] = Dest{Store: s, Key: "k"}
	}
	return d
}

// One pass, three destinations: every one stores the same bytes, which are
// the bytes a single-destination upload would store (same checksum).
func TestFanoutStoresIdenticalObjects(t *testing.T) {
	data := testData(3<<20 + 12345)
	kr := newKeyring(t)
	a, b, c := &pipeStore{limit: -1}, &pipeStore{limit: -1}, &pipeStore{limit: -1}
	u, err := StartFanout(context.Background(), fanDests(a, b, c), "zstd", kr)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeChunks(u.Writer(), data); err != nil {
		t.Fatal(err)
	}
	put, err := u.Finish()
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range []*pipeStore{a, b, c} {
		if r := u.Results()[i]; r.Err != nil || r.N != put.N {
			t.Errorf("destination %d: %+v, want %d bytes", i, r, put.N)
		}
		if int64(s.got.Len()) != put.N || sha(s.got.Bytes()) != u.StoredChecksum() {
			t.Errorf("destination %d stored %d bytes (sha %s), want %d (sha %s)", i, s.got.Len(), sha(s.got.Bytes()), put.N, u.StoredChecksum())
		}
	}
	if !bytes.Equal(a.got.Bytes(), c.got.Bytes()) {
		t.Error("the primary and the last copy differ")
	}
}

// A copy that fails mid-stream is cut off: the primary and the other copy
// complete, its result carries its error, and the upload succeeds.
func TestFanoutCopyFailsMidStream(t *testing.T) {
	data := testData(4 << 20)
	boom := errors.New("bucket went away")
	primary, broken, other := &pipeStore{limit: -1}, &pipeStore{limit: 300 << 10, fail: boom}, &pipeStore{limit: -1}
	u, err := StartFanout(context.Background(), fanDests(primary, broken, other), "none", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeChunks(u.Writer(), data); err != nil {
		t.Fatalf("a copy's failure reached the dump: %v", err)
	}
	put, err := u.Finish()
	if err != nil {
		t.Fatalf("upload failed for a copy's failure: %v", err)
	}
	res := u.Results()
	if res[0].Err != nil || res[2].Err != nil || res[2].N != put.N || other.got.Len() != len(data) {
		t.Errorf("healthy destinations: %+v / %+v, other stored %d of %d", res[0], res[2], other.got.Len(), len(data))
	}
	if !errors.Is(res[1].Err, boom) {
		t.Errorf("broken destination's result = %+v, want %v", res[1], boom)
	}
}

// The primary failing fails the upload and ends every copy's stream.
func TestFanoutPrimaryFails(t *testing.T) {
	data := testData(4 << 20)
	boom := errors.New("disk full")
	primary, copy1 := &pipeStore{limit: 200 << 10, fail: boom}, &pipeStore{limit: -1}
	u, err := StartFanout(context.Background(), fanDests(primary, copy1), "none", nil)
	if err != nil {
		t.Fatal(err)
	}
	werr := writeChunks(u.Writer(), data)
	if werr == nil {
		_, werr = u.Finish()
	} else {
		_, werr = u.Abort(werr)
	}
	if werr == nil {
		t.Fatal("upload succeeded without its primary")
	}
	res := u.Results()
	if !errors.Is(res[0].Err, boom) || res[1].Err == nil {
		t.Errorf("results = %+v, want the primary's error and an aborted copy", res)
	}
	if copy1.readErr == nil {
		t.Error("the copy's Put saw a clean end of stream: it would have kept a partial object")
	}
}

// stallStore reads nothing until release is closed, then everything.
type stallStore struct {
	pipeStore
	release chan struct{}
}

func (s *stallStore) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	<-s.release
	return s.pipeStore.Put(ctx, key, r)
}

// countStore counts what its Put has read so far.
type countStore struct {
	pipeStore
	n atomic.Int64
}

func (s *countStore) Put(_ context.Context, _ string, r io.Reader) (int64, error) {
	buf := make([]byte, 32<<10)
	var total int64
	for {
		n, err := r.Read(buf)
		total += int64(n)
		s.n.Add(int64(n))
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// Back-pressure: while a copy reads nothing, the primary gets no further
// than the copy's small queue ahead of it (no destination buffers the
// object); once the copy reads, both complete.
func TestFanoutSlowestSetsThePace(t *testing.T) {
	data := make([]byte, 48<<20)
	_, _ = rand.NewChaCha8([32]byte{3, 4}).Read(data) // incompressible: nothing shrinks it
	primary := &countStore{}
	stalled := &stallStore{pipeStore: pipeStore{limit: -1}, release: make(chan struct{})}
	u, err := StartFanout(context.Background(), []Dest{{Store: primary, Key: "k"}, {Store: stalled, Key: "k"}}, "none", nil)
	if err != nil {
		t.Fatal(err)
	}
	wrote := make(chan error, 1)
	go func() { wrote <- writeChunks(u.Writer(), data) }()
	// However long the copy stalls, the primary cannot run ahead by more
	// than the copy's queue and the stages' buffers.
	for range 50 {
		if n := primary.n.Load(); n > 12<<20 {
			t.Fatalf("the primary got %d bytes while the copy read none: the stream is buffered without bound", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stalled.release)
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if _, err := u.Finish(); err != nil {
		t.Fatal(err)
	}
	if primary.n.Load() != int64(len(data)) || stalled.got.Len() != len(data) {
		t.Fatalf("stored %d and %d bytes of %d", primary.n.Load(), stalled.got.Len(), len(data))
	}
}
