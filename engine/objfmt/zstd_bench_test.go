//go:build cgo

package objfmt

import (
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	czstd "github.com/DataDog/zstd"
	"github.com/klauspost/compress/zstd"
)

// BenchmarkZstdEncoders compresses the same input, in the pipeline's 1 MiB
// writes, with the pure-Go encoder (the CGO_ENABLED=0 build's), libzstd at
// level 1 (this build's) and libzstd with two worker threads (a candidate
// for physical backups' large streams), and reports each one's CPU-seconds
// per run (getrusage: worker threads included) next to ns/op. The input is
// $JAGAD_BENCH_ZSTD_INPUT (e.g. a saved pg_dump) or 64 MiB of test text.
// Compare the sub-benchmarks of one run with each other.
func BenchmarkZstdEncoders(b *testing.B) {
	data := testData(64 << 20)
	if p := os.Getenv("JAGAD_BENCH_ZSTD_INPUT"); p != "" {
		var err error
		if data, err = os.ReadFile(p); err != nil {
			b.Fatal(err)
		}
	}
	encoders := []struct {
		name string
		new  func(io.Writer) (io.WriteCloser, error)
	}{
		{"purego-fastest", func(w io.Writer) (io.WriteCloser, error) {
			return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
		}},
		{"libzstd-1", newZstdWriter},
		{"libzstd-1-workers=2", func(w io.Writer) (io.WriteCloser, error) {
			z := czstd.NewWriterLevel(w, 1)
			return z, z.SetNbWorkers(2)
		}},
	}
	for _, e := range encoders {
		b.Run(e.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			var out int64
			cpu0 := processCPU()
			for b.Loop() {
				cw := &countWriter{w: io.Discard}
				z, err := e.new(cw)
				if err != nil {
					b.Fatal(err)
				}
				for p := data; len(p) > 0; {
					n := min(len(p), asyncChunk)
					if _, err := z.Write(p[:n]); err != nil {
						b.Fatal(err)
					}
					p = p[n:]
				}
				if err := z.Close(); err != nil {
					b.Fatal(err)
				}
				out = cw.n
			}
			b.ReportMetric((processCPU()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
			b.ReportMetric(float64(out)/float64(len(data)), "ratio")
		})
	}
}

// processCPU is this process's user+system CPU time, every thread.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
