package engine

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

// objectSpec is what a stored object must be, as recorded at backup time.
type objectSpec struct {
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

func specOfBackup(b state.Backup) objectSpec {
	return objectSpec{Key: b.StoragePath, DBType: b.DBType, DatabaseName: b.DatabaseName,
		Compression: b.Compression, Encrypted: b.EncryptionAlgo != "", KeyID: b.EncryptionKeyID,
		StoredSize: b.StoredSizeBytes, SizeBytes: b.SizeBytes, Checksum: b.Checksum,
		EncryptedChecksum: b.EncryptedChecksum}
}

func specOfManifest(m Manifest) objectSpec {
	return objectSpec{Key: m.ObjectKey, DBType: m.DBType, DatabaseName: m.DatabaseName,
		Compression: m.Compression, Encrypted: m.Encrypted, KeyID: m.EncryptionKeyID,
		StoredSize: m.StoredSizeBytes, SizeBytes: m.SizeBytes, Checksum: m.Checksum,
		EncryptedChecksum: m.EncryptedChecksum}
}

// keySet opens encrypted objects: a keyring and/or age recovery identities.
type keySet struct {
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

// storedReader streams the stored bytes of an object with its size and
// encrypted_checksum checked at the end.
type storedReader struct {
	*checkedReader
	body io.ReadCloser
	size int64 // from Stat
}

// openStored opens the object; a size that already differs from the record
// (a truncated or replaced object) fails before any byte is read.
func openStored(ctx context.Context, st storage.Store, spec objectSpec) (*storedReader, error) {
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
	return &storedReader{checkedReader: c, body: body, size: info.Size}, nil
}

func (s *storedReader) Close() error { return s.body.Close() }

// dumpReader is the raw dump of an object, every check made before io.EOF.
type dumpReader struct {
	stored *storedReader
	comp   *checkedReader // the compressed stream (decrypted when encrypted)
	decomp io.ReadCloser
	top    io.Reader
	f      *failure
	spec   objectSpec
	raw    int64
	done   bool
	err    error
}

// openCompressed opens the object up to the compressed stream (d.comp):
// stored size and encrypted_checksum, decryption, checksum.
func openCompressed(ctx context.Context, st storage.Store, spec objectSpec, keys keySet) (*dumpReader, error) {
	s, err := openStored(ctx, st, spec)
	if err != nil {
		return nil, err
	}
	d := &dumpReader{stored: s, f: s.f, spec: spec}
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

// openDump opens the object and stacks decryption and decompression on it.
func openDump(ctx context.Context, st storage.Store, spec objectSpec, keys keySet) (*dumpReader, error) {
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
func (d *dumpReader) fail(stage, what string, err error) (*dumpReader, error) {
	d.Close()
	d.f.note(stage, err)
	first, cause := d.f.cause()
	return nil, &stagedError{stage: first, cause: cause, err: fmt.Errorf("%s: %w", what, err)}
}

func (d *dumpReader) Read(p []byte) (int, error) {
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

func (d *dumpReader) endErr() error {
	if d.err != nil {
		return d.err
	}
	return io.EOF
}

// finish reads what the decompressor left (trailing bytes count into the
// checksums) and checks the sizes.
func (d *dumpReader) finish() error {
	if _, err := discard(d.comp); err != nil {
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
func (d *dumpReader) Close() error {
	if d.decomp != nil {
		d.decomp.Close()
	}
	return d.stored.Close()
}

// cause names the stage that failed first and its error.
func (d *dumpReader) cause() (string, error) { return d.f.cause() }

// summary returns the classic log lines of a read that reached its end.
func (d *dumpReader) summary() []string {
	lines := []string{fmt.Sprintf("DOWNLOAD: %s (%d bytes)", d.spec.Key, d.stored.n)}
	if d.spec.Encrypted {
		lines = append(lines, "DECRYPT: OK ("+crypt.Algo+")")
	}
	lines = append(lines, fmt.Sprintf("DECOMPRESS: %d -> %d bytes (%s)", d.comp.n, d.raw, orNone(d.spec.Compression)))
	return lines
}

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

// checkObject reads the whole object through the checks and discards it:
// the first pass of a restore. With decompress it also decompresses to the
// end and checks the recorded dump size.
func checkObject(ctx context.Context, st storage.Store, spec objectSpec, keys keySet, decompress bool) (*dumpReader, error) {
	open := openCompressed
	if decompress {
		open = openDump
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
	if _, err := discard(r); err != nil {
		return d, err
	}
	return d, nil
}

// discard reads r to its end in large reads (io.Discard's ReadFrom would
// pull 8 KiB at a time through every layer).
func discard(r io.Reader) (int64, error) {
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

// stageOf labels an error of the read pipeline for the job log.
func stageOf(d *dumpReader, err error) string {
	if d != nil {
		if s, _ := d.cause(); s != "" {
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
