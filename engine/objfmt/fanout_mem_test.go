package objfmt

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// slowStore reads its Put in small pieces with a pause after each, so it is
// slower than the pipeline feeding it and its queue stays full; it keeps
// only the SHA-256 and the count of what it read.
type slowStore struct {
	pipeStore
	piece int
	pause time.Duration
	n     int64
	sum   string
}

func (s *slowStore) Put(_ context.Context, _ string, r io.Reader) (int64, error) {
	h := sha256.New()
	buf := make([]byte, s.piece)
	for {
		n, err := r.Read(buf)
		h.Write(buf[:n])
		s.n += int64(n)
		if err == io.EOF {
			s.sum = hex.EncodeToString(h.Sum(nil))
			return s.n, nil
		}
		if err != nil {
			return s.n, err
		}
		time.Sleep(s.pause)
	}
}

// liveHeap is the heap in use after a collection: what is still referenced.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// Three destinations, each slower than the pipeline, and a stream ten
// times larger than the budget: the heap the upload holds never exceeds
// what its queues can hold. The budget comes from the queue sizes, not
// from a measurement: the dump's and the sealed stream's async buffers,
// each destination's fan-out queue and read buffer, the source's chunk,
// and 4 MiB for the encrypter's chunks, hash states and allocator slack.
// A destination that buffered the object, or a queue that grew, would
// hold the stream's size instead. Peak RSS of a real three-destination
// backup adds each S3 destination's part buffers (PartSize ×
// (Concurrency+1)) and the dump tool; make bench measures that.
func TestFanoutThreeSlowDestinationsBoundedHeap(t *testing.T) {
	const (
		source = 1 << 20   // the dump's write size here
		total  = 160 << 20 // the stream
		piece  = 16 << 10  // each destination's read buffer
		sample = 4 << 20   // live heap measured every sample bytes
	)
	budget := uint64(2*asyncChunks*asyncChunk + 3*fanChunks*fanChunk + 3*piece + source + 4<<20)
	if total < 8*budget {
		t.Fatalf("stream %d bytes is too small to show a bound of %d", total, budget)
	}
	kr := newKeyring(t)
	stores := []*slowStore{
		{pipeStore: pipeStore{limit: -1}, piece: piece, pause: 20 * time.Microsecond},
		{pipeStore: pipeStore{limit: -1}, piece: piece, pause: 50 * time.Microsecond},
		{pipeStore: pipeStore{limit: -1}, piece: piece, pause: 100 * time.Microsecond},
	}
	dests := make([]Dest, len(stores))
	for i, s := range stores {
		dests[i] = Dest{Store: s, Key: "k"}
	}
	buf := make([]byte, source)
	rng := rand.NewChaCha8([32]byte{7})
	base := liveHeap()

	u, err := StartFanout(context.Background(), dests, "none", kr)
	if err != nil {
		t.Fatal(err)
	}
	var peak uint64
	for written := 0; written < total; written += source {
		_, _ = rng.Read(buf) // incompressible, and never the same chunk twice
		if _, err := u.Writer().Write(buf); err != nil {
			t.Fatal(err)
		}
		if (written+source)%sample == 0 {
			if h := liveHeap(); h > base {
				peak = max(peak, h-base)
			}
		}
	}
	if _, err := u.Finish(); err != nil {
		t.Fatal(err)
	}
	for i, s := range stores {
		if s.sum != u.StoredChecksum() {
			t.Fatalf("destination %d stored %d bytes, sha256 %s; the stream was sha256 %s", i, s.n, s.sum, u.StoredChecksum())
		}
	}
	t.Logf("stream %d MiB to 3 destinations: live heap peak %.1f MiB over the baseline, budget %.1f MiB",
		total>>20, float64(peak)/(1<<20), float64(budget)/(1<<20))
	if peak > budget {
		t.Fatalf("the upload held %d bytes of heap, budget %d from its queue sizes: memory grows with the stream", peak, budget)
	}
}
