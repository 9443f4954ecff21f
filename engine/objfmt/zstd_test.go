package objfmt

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"testing"
)

// zstdCLI is the zstd command line; under CI=true its absence fails the
// test, elsewhere it skips.
func zstdCLI(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("zstd")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("zstd command line not installed: %v", err)
		}
		t.Skipf("zstd command line not installed: %v", err)
	}
	return p
}

// TestZstdFramesInteroperate: what this build's zstd encoder (ZstdEncoder:
// libzstd with cgo, pure Go without) writes decodes byte-true with the
// pipeline's own decoder (newDecompressor, pure Go) and with the zstd
// command line, for empty, tiny, 1 MiB-chunked (the pipeline's writes) and
// unevenly written input; and what the command line writes decodes with the
// pipeline's decoder.
func TestZstdFramesInteroperate(t *testing.T) {
	cli := zstdCLI(t)
	t.Logf("encoder: %s", ZstdEncoder)
	big := testData(5<<20 + 4321)
	cases := []struct {
		name  string
		data  []byte
		write func(io.Writer, []byte) error
	}{
		{"empty", nil, func(io.Writer, []byte) error { return nil }},
		{"one byte", []byte{'x'}, writeAll},
		{"1 MiB chunks", big, func(w io.Writer, b []byte) error {
			for len(b) > 0 {
				n := min(len(b), asyncChunk)
				if err := writeAll(w, b[:n]); err != nil {
					return err
				}
				b = b[n:]
			}
			return nil
		}},
		{"uneven writes", big[:3<<20], writeChunks},
		{"incompressible", randomBytes(2<<20 + 1), writeAll},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var frame bytes.Buffer
			zw, err := newCompressor(&frame, "zstd")
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.write(zw, tc.data); err != nil {
				t.Fatalf("compress: %v", err)
			}
			if err := zw.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			if got := decodeOwn(t, frame.Bytes()); !bytes.Equal(got, tc.data) {
				t.Fatalf("pure-Go decoder: %d bytes back of %d, equal false", len(got), len(tc.data))
			}
			cmd := exec.Command(cli, "-d", "-q", "-c")
			cmd.Stdin = bytes.NewReader(frame.Bytes())
			var out, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("zstd -d: %v: %s", err, stderr.String())
			}
			if !bytes.Equal(out.Bytes(), tc.data) {
				t.Fatalf("zstd -d: %d bytes back of %d, equal false", out.Len(), len(tc.data))
			}

			cmd = exec.Command(cli, "-1", "-q", "-c")
			cmd.Stdin = bytes.NewReader(tc.data)
			out.Reset()
			stderr.Reset()
			cmd.Stdout, cmd.Stderr = &out, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("zstd -1: %v: %s", err, stderr.String())
			}
			if got := decodeOwn(t, out.Bytes()); !bytes.Equal(got, tc.data) {
				t.Fatalf("zstd -1 frame through the pure-Go decoder: %d bytes back of %d", len(got), len(tc.data))
			}
		})
	}
}

// TestZstdTruncatedFrameFails: a frame of this build's encoder cut short is
// an error from the pipeline's decoder, not a shorter dump.
func TestZstdTruncatedFrameFails(t *testing.T) {
	data := testData(1 << 20)
	var frame bytes.Buffer
	zw, err := newCompressor(&frame, "zstd")
	if err == nil {
		err = writeAll(zw, data)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int{1, 5, frame.Len() / 2} {
		r, err := newDecompressor(bytes.NewReader(frame.Bytes()[:frame.Len()-cut]), "zstd")
		if err == nil {
			_, err = io.ReadAll(r)
			_ = r.Close()
		}
		if err == nil {
			t.Errorf("frame of %d bytes cut by %d: decoded without an error", frame.Len(), cut)
		}
	}
}

// randomBytes is n incompressible bytes (a fixed seed).
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(b)
	return b
}

func writeAll(w io.Writer, b []byte) error { _, err := w.Write(b); return err }

func decodeOwn(t *testing.T, frame []byte) []byte {
	t.Helper()
	r, err := newDecompressor(bytes.NewReader(frame), "zstd")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("pure-Go decoder: %v", err)
	}
	return got
}
