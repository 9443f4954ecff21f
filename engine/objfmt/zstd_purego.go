//go:build !cgo

package objfmt

import (
	"io"

	"github.com/klauspost/compress/zstd"
)

// ZstdEncoder names the zstd encoder this build compresses with: the pure-Go
// encoder of github.com/klauspost/compress, used when cgo is off
// (CGO_ENABLED=0). With cgo the C library compresses (zstd_cgo.go).
const ZstdEncoder = "klauspost (pure Go)"

// newZstdWriter compresses at klauspost's fastest level (about `zstd -1`).
// One encoder goroutine: the upload's own stages already run reading,
// compressing and sealing in parallel, and zstd's async block mode only
// added CPU on top (engine/bench: 8.3 s → 6.4 s).
func newZstdWriter(w io.Writer) (io.WriteCloser, error) {
	return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
}
