// Package objfmt owns the format of a stored backup object: the write
// pipeline (compress → hash → encrypt → store, upload.go), the read side
// with every integrity check (readback.go) and the manifest stored beside
// each object (manifest.go). It knows storage and crypt, not the engine:
// no metrics, no job log; callers get counts, checksums and causes back.
package objfmt

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

// ReadFrom passes r on to a writer that reads by itself (the dump's bytes
// go straight into the async chunks), counting what it read.
func (c *countWriter) ReadFrom(r io.Reader) (int64, error) {
	rf, ok := c.w.(io.ReaderFrom)
	if !ok {
		return io.Copy(struct{ io.Writer }{c}, r)
	}
	n, err := rf.ReadFrom(r)
	c.n += n
	return n, err
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// CompressExt returns the file extension of a compression.
func CompressExt(c string) string {
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
		return newZstdWriter(w) // libzstd with cgo, else pure Go (zstd_*.go)
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

// Upload is one pass: raw dump bytes in, a stored object out, on one or
// several destinations (fanout.go).
//
//	dump ─▶ count ┆ compress ┆ sha256 ─▶ encrypt? ─▶ sha256 ─▶ count ─▶ storage (each destination)
//
// (┆: a goroutine boundary with a few MiB of buffering, so reading the dump
// tool, compressing and sealing+storing run on different cores. Unencrypted,
// the second sha256 is the first: the stored bytes are the compressed ones.)
type Upload struct {
	raw      countWriter
	async    *asyncWriter // dump bytes wait here for the compressor
	comp     io.WriteCloser
	sealed   *asyncWriter   // compressed bytes wait here for hashing, encryption, storage
	enc      io.WriteCloser // nil when not encrypting
	sumComp  hash.Hash
	sumStore hash.Hash // nil when not encrypting: the stored bytes are the compressed stream
	stored   countWriter
	fan      *fanout // the destinations, the primary first
}

// storeBatch is how many sealed bytes go to a single destination's reader at
// a time (fanout.go). Each write into the io.Pipe is a hand-off between two
// goroutines per read of the reader; the encrypter writes 64 KiB chunks, and
// local storage reads 256 KiB at a time, so batching to 256 KiB makes a
// quarter of the hand-offs. Several destinations batch in their queues.
const storeBatch = 256 << 10

// PutResult is what storage acknowledged: N bytes stored, or Err.
type PutResult struct {
	N   int64
	Err error
}

// Dest is one destination of an upload: a store and the object's key in it.
type Dest struct {
	Store storage.Store
	Key   string
}

// StartUpload starts storing key. Write the dump into u.Writer(), then
// call Finish or Abort. kr nil stores the object unencrypted.
func StartUpload(ctx context.Context, st storage.Store, key, compression string, kr *crypt.Keyring) (*Upload, error) {
	return StartFanout(ctx, []Dest{{Store: st, Key: key}}, compression, kr)
}

// StartFanout starts storing the same object on every destination, read,
// compressed, hashed and encrypted once. dests[0] is the primary: when it
// fails the upload fails. Any other destination that fails is cut off and
// the others go on; its error is in Results. Memory stays bounded: each
// extra destination has a small queue (fanout.go), and the slowest one
// holds the stream back once its queue is full.
func StartFanout(ctx context.Context, dests []Dest, compression string, kr *crypt.Keyring) (*Upload, error) {
	if len(dests) == 0 {
		return nil, errors.New("upload: no destination")
	}
	u := &Upload{sumComp: sha256.New()}
	u.fan = startFanout(ctx, dests)
	u.stored.w = u.fan // unencrypted, the stored bytes are the compressed stream: one hash
	var afterComp io.Writer = &u.stored
	if kr != nil {
		u.sumStore = sha256.New()
		u.stored.w = io.MultiWriter(u.sumStore, u.fan)
		enc, err := crypt.NewWriter(&u.stored, kr)
		if err != nil {
			err = fmt.Errorf("start encryption: %w", err)
			u.Abort(err)
			return nil, err
		}
		u.enc = enc
		afterComp = enc
	}
	u.sealed = newAsyncWriter(io.MultiWriter(u.sumComp, afterComp))
	comp, err := newCompressor(u.sealed, compression)
	if err != nil {
		u.Abort(err)
		return nil, err
	}
	u.comp = comp
	u.async = newAsyncWriter(comp)
	u.raw.w = u.async
	return u, nil
}

// Writer is where the dump goes.
func (u *Upload) Writer() io.Writer { return &u.raw }

// Finish flushes the compressor and the encrypter, ends the stream and waits
// for storage to acknowledge every byte.
func (u *Upload) Finish() (PutResult, error) {
	if err := u.async.Close(); err != nil {
		return u.fail("compress", err)
	}
	if err := u.comp.Close(); err != nil {
		return u.fail("compress", err)
	}
	if err := u.sealed.Close(); err != nil {
		return u.fail("seal", err)
	}
	if u.enc != nil {
		if err := u.enc.Close(); err != nil {
			return u.fail("encrypt", err)
		}
	}
	res := u.fan.finish(u.stored.n)[0]
	if res.Err != nil {
		return res, fmt.Errorf("upload: %w", res.Err)
	}
	return res, nil
}

// Results is what each destination acknowledged, in the order given to
// StartFanout (the primary first); call it after Finish or Abort. A
// destination's Err says why it has no complete object.
func (u *Upload) Results() []PutResult { return u.fan.results() }

// fail aborts after a stage failed. When storage failed first, its error
// travelled back up through the stages: report it as the cause.
func (u *Upload) fail(stage string, err error) (PutResult, error) {
	res, _ := u.Abort(err)
	if res.Err != nil && errors.Is(err, res.Err) {
		return res, fmt.Errorf("upload: %w", res.Err)
	}
	return res, fmt.Errorf("%s: %w", stage, err)
}

// Abort ends the stream with err; storage removes what it had. It returns
// storage's result (its own error, when it failed first) and err.
func (u *Upload) Abort(err error) (PutResult, error) {
	u.fan.abort(err) // every stage's writes now fail: nothing blocks
	if u.async != nil {
		_ = u.async.Close()
	}
	if u.comp != nil {
		_ = u.comp.Close() // stops its workers before their sink closes
	}
	if u.sealed != nil {
		_ = u.sealed.Close()
	}
	res := u.fan.wait()[0]
	return res, err
}

// RawBytes is the number of dump bytes written so far.
func (u *Upload) RawBytes() int64 { return u.raw.n }

// Checksum is the sha256 of the compressed stream (a backup's checksum).
func (u *Upload) Checksum() string { return hex.EncodeToString(u.sumComp.Sum(nil)) }

// StoredChecksum is the sha256 of the stored bytes (encrypted_checksum);
// unencrypted, that is Checksum.
func (u *Upload) StoredChecksum() string {
	if u.sumStore == nil {
		return u.Checksum()
	}
	return hex.EncodeToString(u.sumStore.Sum(nil))
}
