package objfmt

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"filippo.io/age"

	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

// readback.go is the read side of the backup pipeline, shared by restores,
// verifications, drills and the offline `jagad restore`:
//
//	storage ─▶ size+sha256 (encrypted_checksum) ─▶ decrypt? ─▶ sha256 (checksum) ─▶ decompress ─▶ count ─▶ consumer
//
// Every check that can only be made at the end of the stream (stored size and
// checksums, the final encrypted chunk, the raw size) is made before the
// consumer sees io.EOF: on a mismatch the consumer gets an error instead, so
// a restore tool is killed rather than handed a clean end of input.

// ErrIntegrity means a stored object does not match what was recorded when
// it was written (size or checksum).
var ErrIntegrity = errors.New("integrity check failed")

// Spec is what a stored object must be, as recorded at backup time.
type Spec struct {
	Key               string
	DBType            string
	DatabaseName      string
	Compression       string
	Encrypted         bool
	KeyID             string
	StoredSize        int64
	SizeBytes         int64
	Checksum          string // sha256 of the compressed stream
	EncryptedChecksum string // sha256 of the stored bytes
}

// SpecOf is the spec of a backup record's object.
func SpecOf(b state.Backup) Spec {
	return Spec{Key: b.StoragePath, DBType: b.DBType, DatabaseName: b.DatabaseName,
		Compression: b.Compression, Encrypted: b.EncryptionAlgo != "", KeyID: b.EncryptionKeyID,
		StoredSize: b.StoredSizeBytes, SizeBytes: b.SizeBytes, Checksum: b.Checksum,
		EncryptedChecksum: b.EncryptedChecksum}
}

// SpecOfManifest is the spec of the object a manifest describes.
func SpecOfManifest(m Manifest) Spec {
	return Spec{Key: m.ObjectKey, DBType: m.DBType, DatabaseName: m.DatabaseName,
		Compression: m.Compression, Encrypted: m.Encrypted, KeyID: m.EncryptionKeyID,
		StoredSize: m.StoredSizeBytes, SizeBytes: m.SizeBytes, Checksum: m.Checksum,
		EncryptedChecksum: m.EncryptedChecksum}
}

// Keys opens encrypted objects: a keyring and/or age recovery identities.
type Keys struct {
	Ring       *crypt.Keyring
	Identities []age.Identity
}

// failure remembers the first error of a pipeline and the stage that saw
// it: the innermost reader fails first, so its stage is the cause.
type failure struct {
	mu    sync.Mutex
	stage string
	err   error
}

func (f *failure) note(stage string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.stage, f.err = stage, err
	}
}

// cause returns the stage and error noted first ("" and nil when none).
func (f *failure) cause() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stage, f.err
}

// stageReader notes its reader's first error under stage.
type stageReader struct {
	r     io.Reader
	stage string
	f     *failure
}

func (s *stageReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.f.note(s.stage, err)
	}
	return n, err
}

// checkedReader hashes and counts a stream and, at its end, compares both
// with the recorded values; a mismatch replaces io.EOF.
type checkedReader struct {
	r       io.Reader
	what    string
	sum     hash.Hash
	n       int64
	wantN   int64    // <= 0: not checked
	wantSum string   // "": not checked
	f       *failure // notes a mismatch as CHECKSUM
	checked bool
	err     error
}

func newChecked(r io.Reader, f *failure, what string, wantN int64, wantSum string) *checkedReader {
	return &checkedReader{r: r, f: f, what: what, sum: sha256.New(), wantN: wantN, wantSum: wantSum}
}

func (c *checkedReader) Read(p []byte) (int, error) {
	if c.checked {
		return 0, c.endErr()
	}
	n, err := c.r.Read(p)
	c.sum.Write(p[:n])
	c.n += int64(n)
	if err == io.EOF {
		c.checked = true
		if c.err = c.check(); c.err != nil {
			c.f.note("CHECKSUM", c.err)
		}
		return n, c.endErr()
	}
	return n, err
}

func (c *checkedReader) endErr() error {
	if c.err != nil {
		return c.err
	}
	return io.EOF
}

func (c *checkedReader) check() error {
	if c.wantN > 0 && c.n != c.wantN {
		return fmt.Errorf("%s is %d bytes, %d were recorded: %w", c.what, c.n, c.wantN, ErrIntegrity)
	}
	if got := c.hex(); c.wantSum != "" && got != c.wantSum {
		return fmt.Errorf("%s checksum MISMATCH — stored=%s, computed=%s: %w", c.what, c.wantSum, got, ErrIntegrity)
	}
	return nil
}

func (c *checkedReader) hex() string { return hex.EncodeToString(c.sum.Sum(nil)) }

// Stored streams the stored bytes of an object with its size and
// encrypted_checksum checked at the end.
type Stored struct {
	*checkedReader
	body io.ReadCloser
	size int64 // from Stat
}

// OpenStored opens the object; a size that already differs from the record
// (a truncated or replaced object) fails before any byte is read.
func OpenStored(ctx context.Context, st storage.Store, spec Spec) (*Stored, error) {
	info, err := st.Stat(ctx, spec.Key)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", spec.Key, err)
	}
	if spec.StoredSize > 0 && info.Size != spec.StoredSize {
		return nil, fmt.Errorf("stored object %s is %d bytes, %d were recorded: %w", spec.Key, info.Size, spec.StoredSize, ErrIntegrity)
	}
	body, err := st.Get(ctx, spec.Key)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", spec.Key, err)
	}
	f := &failure{}
	in := &stageReader{r: body, stage: "DOWNLOAD", f: f}
	c := newChecked(in, f, "stored object", spec.StoredSize, spec.EncryptedChecksum)
	return &Stored{checkedReader: c, body: body, size: info.Size}, nil
}

func (s *Stored) Close() error { return s.body.Close() }

// Size is the object's size as storage reported it before reading.
func (s *Stored) Size() int64 { return s.size }

// Sum is the sha256 of the stored bytes read so far.
func (s *Stored) Sum() string { return s.hex() }

// Cause returns the stage and error noted first ("" and nil when none).
func (s *Stored) Cause() (string, error) { return s.f.cause() }

// Dump is the raw dump of an object, every check made before io.EOF.
type Dump struct {
	stored *Stored
	comp   *checkedReader // the compressed stream (decrypted when encrypted)
	decomp io.ReadCloser
	top    io.Reader
	f      *failure
	spec   Spec
	raw    int64
	done   bool
	err    error
}

// openCompressed opens the object up to the compressed stream (d.comp):
// stored size and encrypted_checksum, decryption, checksum.
func openCompressed(ctx context.Context, st storage.Store, spec Spec, keys Keys) (*Dump, error) {
	s, err := OpenStored(ctx, st, spec)
	if err != nil {
		return nil, err
	}
	d := &Dump{stored: s, f: s.f, spec: spec}
	var compressed io.Reader = s
	if spec.Encrypted {
		if keys.Ring == nil && len(keys.Identities) == 0 {
			return d.fail("DECRYPT", "decrypt", fmt.Errorf("the backup is encrypted with key id %q but no encryption key is configured", spec.KeyID))
		}
		plain, err := crypt.NewReader(s, keys.Ring, keys.Identities...)
		if err != nil {
			return d.fail("DECRYPT", "decrypt", err)
		}
		compressed = &stageReader{r: plain, stage: "DECRYPT", f: s.f}
	}
	d.comp = newChecked(compressed, s.f, "compressed stream", 0, spec.Checksum)
	return d, nil
}

// OpenDump opens the object and stacks decryption and decompression on it.
func OpenDump(ctx context.Context, st storage.Store, spec Spec, keys Keys) (*Dump, error) {
	d, err := openCompressed(ctx, st, spec, keys)
	if err != nil {
		return nil, err
	}
	dec, err := newDecompressor(d.comp, spec.Compression)
	if err != nil { // dec may be a typed nil
		return d.fail("DECOMPRESS", "decompress", err)
	}
	d.decomp = dec
	d.top = &stageReader{r: d.decomp, stage: "DECOMPRESS", f: d.f}
	return d, nil
}

// fail closes a reader that could not be opened and returns its error with
// the stage and cause noted first.
func (d *Dump) fail(stage, what string, err error) (*Dump, error) {
	d.Close()
	d.f.note(stage, err)
	first, cause := d.f.cause()
	return nil, &stagedError{stage: first, cause: cause, err: fmt.Errorf("%s: %w", what, err)}
}

func (d *Dump) Read(p []byte) (int, error) {
	if d.done {
		return 0, d.endErr()
	}
	n, err := d.top.Read(p)
	d.raw += int64(n)
	if err == io.EOF {
		d.done = true
		d.err = d.finish()
		return n, d.endErr()
	}
	return n, err
}

func (d *Dump) endErr() error {
	if d.err != nil {
		return d.err
	}
	return io.EOF
}

// finish reads what the decompressor left (trailing bytes count into the
// checksums) and checks the sizes.
func (d *Dump) finish() error {
	if _, err := Discard(d.comp); err != nil {
		return err
	}
	if d.spec.SizeBytes > 0 && d.raw != d.spec.SizeBytes {
		err := fmt.Errorf("decompressed %d bytes, %d were recorded: %w", d.raw, d.spec.SizeBytes, ErrIntegrity)
		d.f.note("DECOMPRESS", err)
		return err
	}
	return nil
}

// Close releases the decompressor and the storage stream.
func (d *Dump) Close() error {
	if d.decomp != nil {
		d.decomp.Close()
	}
	return d.stored.Close()
}

// Cause names the stage that failed first and its error.
func (d *Dump) Cause() (string, error) { return d.f.cause() }

// Summary returns the classic log lines of a read that reached its end.
func (d *Dump) Summary() []string {
	lines := []string{fmt.Sprintf("DOWNLOAD: %s (%d bytes)", d.spec.Key, d.stored.n)}
	if d.spec.Encrypted {
		lines = append(lines, "DECRYPT: OK ("+crypt.Algo+")")
	}
	return append(lines, d.DecompressLine())
}

// DecompressLine is the summary's line on decompression.
func (d *Dump) DecompressLine() string {
	return fmt.Sprintf("DECOMPRESS: %d -> %d bytes (%s)", d.comp.n, d.raw, orNone(d.spec.Compression))
}

// Done reports whether the dump was read to its end.
func (d *Dump) Done() bool { return d.done }

// StoredSize is the object's size as storage reported it before reading.
func (d *Dump) StoredSize() int64 { return d.stored.size }

// StoredBytes is the number of stored bytes read so far.
func (d *Dump) StoredBytes() int64 { return d.stored.n }

// StoredSum is the sha256 of the stored bytes read so far.
func (d *Dump) StoredSum() string { return d.stored.hex() }

// CompressedSum is the sha256 of the compressed stream read so far.
func (d *Dump) CompressedSum() string { return d.comp.hex() }

func orNone(c string) string {
	if c == "" {
		return "none"
	}
	return c
}

// decompressInCheck makes the first pass of a restore decompress too.
// Off: the checksums already prove the compressed stream bit-identical to
// what the compressor wrote, so decompressing finds no storage corruption
// that they miss, and it is about two thirds of the pass's time (see
// BenchmarkRestorePostgres). Deep verification does decompress.
const decompressInCheck = false

// CheckObject reads the whole object through the checks and discards it:
// the first pass of a restore. With decompress it also decompresses to the
// end and checks the recorded dump size.
func CheckObject(ctx context.Context, st storage.Store, spec Spec, keys Keys, decompress bool) (*Dump, error) {
	open := openCompressed
	if decompress {
		open = OpenDump
	}
	d, err := open(ctx, st, spec, keys)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	var r io.Reader = d.comp
	if decompress {
		r = d
	}
	if _, err := Discard(r); err != nil {
		return d, err
	}
	return d, nil
}

// Discard reads r to its end in large reads (io.Discard's ReadFrom would
// pull 8 KiB at a time through every layer).
func Discard(r io.Reader) (int64, error) {
	return io.CopyBuffer(struct{ io.Writer }{io.Discard}, r, make([]byte, 256<<10))
}

// stagedError is an error of a pipeline that failed while opening, with
// the stage and cause noted first.
type stagedError struct {
	stage string
	cause error
	err   error
}

func (e *stagedError) Error() string { return e.err.Error() }
func (e *stagedError) Unwrap() error { return e.err }

// CauseOf names the stage of a read that failed with err and its first
// cause; d is the reader when it was opened (nil when opening failed).
func CauseOf(d *Dump, err error) (string, error) {
	cause := err
	var se *stagedError
	if d != nil {
		if _, c := d.Cause(); c != nil {
			cause = c
		}
	} else if errors.As(err, &se) {
		cause = se.cause
	}
	return stageOf(d, err), cause
}

// stageOf labels an error of the read pipeline for the job log.
func stageOf(d *Dump, err error) string {
	if d != nil {
		if s, _ := d.Cause(); s != "" {
			return s
		}
	}
	var se *stagedError
	if errors.As(err, &se) {
		return se.stage
	}
	var unknown *crypt.UnknownKeyError
	switch {
	case errors.Is(err, ErrIntegrity):
		return "CHECKSUM"
	case errors.As(err, &unknown), errors.Is(err, crypt.ErrWrongKey), errors.Is(err, crypt.ErrCorrupt),
		errors.Is(err, crypt.ErrFormat), errors.Is(err, crypt.ErrUnsupported):
		return "DECRYPT"
	}
	return "DOWNLOAD"
}
