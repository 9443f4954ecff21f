//go:build cgo

package objfmt

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestZstdCgoEncoder: with cgo the pipeline compresses with libzstd, whose
// frames the pure-Go decoder reads exactly like the pure-Go encoder's (the
// encoder of builds without cgo), and the C context survives the pipeline's
// error paths: Close twice (Upload.Abort after a failed Finish), Write after
// Close, a sink that fails.
func TestZstdCgoEncoder(t *testing.T) {
	if !strings.Contains(ZstdEncoder, "libzstd") {
		t.Fatalf("cgo build compresses with %q, want libzstd", ZstdEncoder)
	}
	data := testData(2<<20 + 99)
	var c, g bytes.Buffer
	cw, err := newCompressor(&c, "zstd")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cw.(*cZstdWriter); !ok {
		t.Fatalf("newCompressor(zstd) = %T, want the C encoder", cw)
	}
	gw, err := zstd.NewWriter(&g, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []io.WriteCloser{cw, gw} {
		if err := writeChunks(w, data); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(decodeOwn(t, c.Bytes()), data) || !bytes.Equal(decodeOwn(t, g.Bytes()), data) {
		t.Fatal("a frame did not decode to the input")
	}
	t.Logf("%d bytes: libzstd level 1 %d, pure Go fastest %d", len(data), c.Len(), g.Len())
	if err := cw.Close(); err != nil {
		t.Errorf("second close = %v, want the first's result (nil)", err)
	}
	if _, err := cw.Write([]byte("x")); !errors.Is(err, errZstdClosed) {
		t.Errorf("write after close = %v, want %v", err, errZstdClosed)
	}

	boom := errors.New("sink broke")
	fw, err := newCompressor(&failAfter{n: 1000, err: boom}, "zstd")
	if err != nil {
		t.Fatal(err)
	}
	werr := writeChunks(fw, randomBytes(1<<20))
	cerr := fw.Close()
	if !errors.Is(werr, boom) && !errors.Is(cerr, boom) {
		t.Fatalf("write %v, close %v: want the sink's error", werr, cerr)
	}
	if err := fw.Close(); err != cerr {
		t.Errorf("second close after a failure = %v, want %v", err, cerr)
	}
}
