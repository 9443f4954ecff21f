package objfmt

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/jagad/jagad/engine/storage"
)

// discardStore reads every Put to the end and keeps nothing: the cost of
// the pipeline and the fan-out alone, without a disk or a network.
type discardStore struct{ pipeStore }

func (*discardStore) Put(_ context.Context, _ string, r io.Reader) (int64, error) {
	return io.Copy(io.Discard, r)
}

var _ storage.Store = &discardStore{}

// BenchmarkFanout compares one destination with two and three (the ratio
// of ns/op is the CPU cost of each extra destination).
func BenchmarkFanout(b *testing.B) {
	data := testData(32 << 20)
	kr := newKeyring(b)
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("destinations=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for range b.N {
				dests := make([]Dest, n)
				for i := range dests {
					dests[i] = Dest{Store: &discardStore{}, Key: "k"}
				}
				u, err := StartFanout(context.Background(), dests, "zstd", kr)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := u.Writer().Write(data); err != nil {
					b.Fatal(err)
				}
				if _, err := u.Finish(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFanoutLocal is BenchmarkFanout into local directories (fsync
// included): what a second local destination costs on one disk.
func BenchmarkFanoutLocal(b *testing.B) {
	data := testData(32 << 20)
	kr := newKeyring(b)
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("destinations=%d", n), func(b *testing.B) {
			dests := make([]Dest, n)
			for i := range dests {
				st, err := storage.Open(storage.Config{Type: "local", Path: b.TempDir()})
				if err != nil {
					b.Fatal(err)
				}
				dests[i] = Dest{Store: st, Key: "k"}
			}
			b.SetBytes(int64(len(data)))
			for range b.N {
				u, err := StartFanout(context.Background(), dests, "zstd", kr)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := u.Writer().Write(data); err != nil {
					b.Fatal(err)
				}
				if _, err := u.Finish(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
