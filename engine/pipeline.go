package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/storage"
)

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// compressExt returns the file extension of a compression.
func compressExt(c string) string {
	switch c {
	case "gzip":
		return ".gz"
	case "zstd":
		return ".zst"
	}
	return ""
}

// newCompressor wraps w with the named compression at its fastest level.
func newCompressor(w io.Writer, c string) (io.WriteCloser, error) {
	switch c {
	case "gzip":
		return gzip.NewWriterLevel(w, gzip.BestSpeed)
	case "zstd":
		return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(2))
	case "none", "":
		return nopCloser{w}, nil
	}
	return nil, fmt.Errorf("unknown compression %q", c)
}

// newDecompressor reads the named compression.
func newDecompressor(r io.Reader, c string) (io.ReadCloser, error) {
	switch c {
	case "gzip":
		return gzip.NewReader(r)
	case "zstd":
		d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(2), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	case "none", "":
		return io.NopCloser(r), nil
	}
	return nil, fmt.Errorf("unknown compression %q", c)
}

// upload is one pass: raw dump bytes in, a stored object out.
//
//	dump ─▶ count ─▶ compress ─▶ sha256 ─▶ encrypt? ─▶ sha256 ─▶ count ─▶ storage
type upload struct {
	raw      countWriter
	comp     io.WriteCloser
	enc      io.WriteCloser // nil when not encrypting
	sumComp  hash.Hash
	sumStore hash.Hash
	stored   countWriter
	pw       *io.PipeWriter
	done     chan putResult
}

type putResult struct {
	n   int64
	err error
}

// startUpload starts storing key from the writer it returns. Write the dump
// into u.raw's writer (u.Writer), then call finish or abort.
func startUpload(ctx context.Context, st storage.Store, key, compression string, kr *crypt.Keyring) (*upload, error) {
	pr, pw := io.Pipe()
	u := &upload{sumComp: sha256.New(), sumStore: sha256.New(), pw: pw, done: make(chan putResult, 1)}
	u.stored.w = io.MultiWriter(u.sumStore, pw)
	// Storage reads from the start: the encrypter writes its header at once.
	go func() {
		n, err := st.Put(ctx, key, pr)
		if err == nil {
			err = errors.New("storage finished before the stream ended")
			if _, rerr := pr.Read(make([]byte, 1)); rerr == io.EOF {
				err = nil
			}
		}
		pr.CloseWithError(err)
		u.done <- putResult{n, err}
	}()
	var afterComp io.Writer = &u.stored
	if kr != nil {
		enc, err := crypt.NewWriter(&u.stored, kr)
		if err != nil {
			err = fmt.Errorf("start encryption: %w", err)
			u.abort(err)
			return nil, err
		}
		u.enc = enc
		afterComp = enc
	}
	comp, err := newCompressor(io.MultiWriter(u.sumComp, afterComp), compression)
	if err != nil {
		u.abort(err)
		return nil, err
	}
	u.comp = comp
	u.raw.w = comp
	return u, nil
}

// Writer is where the dump goes.
func (u *upload) Writer() io.Writer { return &u.raw }

// finish flushes the compressor and the encrypter, ends the stream and waits
// for storage to acknowledge every byte.
func (u *upload) finish() (putResult, error) {
	if err := u.comp.Close(); err != nil {
		return u.abort(fmt.Errorf("compress: %w", err))
	}
	if u.enc != nil {
		if err := u.enc.Close(); err != nil {
			return u.abort(fmt.Errorf("encrypt: %w", err))
		}
	}
	u.pw.Close()
	res := <-u.done
	if res.err != nil {
		return res, fmt.Errorf("upload: %w", res.err)
	}
	if res.n != u.stored.n {
		return res, fmt.Errorf("upload: storage acknowledged %d bytes, %d were sent", res.n, u.stored.n)
	}
	return res, nil
}

// abort ends the stream with err; storage removes what it had.
func (u *upload) abort(err error) (putResult, error) {
	u.pw.CloseWithError(err)
	res := <-u.done
	return res, err
}

func (u *upload) checksum() string       { return hex.EncodeToString(u.sumComp.Sum(nil)) }
func (u *upload) storedChecksum() string { return hex.EncodeToString(u.sumStore.Sum(nil)) }
