//go:build cgo

package objfmt

import (
	"errors"
	"io"

	czstd "github.com/DataDog/zstd"
)

// ZstdEncoder names the zstd encoder this build compresses with: the C
// reference library (libzstd, bundled by github.com/DataDog/zstd and
// compiled with cgo). A CGO_ENABLED=0 build uses the pure-Go encoder
// (zstd_purego.go). Both write standard zstd frames; decompression is the
// pure-Go decoder in either build.
const ZstdEncoder = "libzstd (cgo)"

// newZstdWriter compresses at level 1, the level of `zstd -1`: the same
// algorithm and parameters as the command line, at about the command line's
// CPU cost. Memory is bounded: the C context (~1.5 MiB at level 1, a 512 KiB
// window) and one output buffer of CompressBound(largest write), 1 MiB + a
// little for the pipeline's 1 MiB chunks. The frames carry no XXH64 content
// checksum (the library's default); the pipeline's SHA-256 of the compressed
// stream (`checksum`) covers them.
func newZstdWriter(w io.Writer) (io.WriteCloser, error) {
	return &cZstdWriter{z: czstd.NewWriterLevel(w, 1)}, nil
}

var errZstdClosed = errors.New("zstd: write after close")

// cZstdWriter guards the C encoder's context: Close frees it, so a second
// Close (Upload.Abort after a failed Finish) or a Write after Close must not
// reach the library again.
type cZstdWriter struct {
	z      *czstd.Writer
	closed bool
	err    error // Close's result
}

func (c *cZstdWriter) Write(p []byte) (int, error) {
	if c.closed {
		return 0, errZstdClosed
	}
	return c.z.Write(p)
}

// Close ends the frame and frees the C context. A C-side error (the encoder
// itself failing, not its sink) leaves the context allocated; the library
// gives no way to free it then.
func (c *cZstdWriter) Close() error {
	if !c.closed {
		c.closed = true
		c.err = c.z.Close()
	}
	return c.err
}
