package crypt

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"filippo.io/age"
)

func roundTripSizes() []int {
	sizes := []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 3 * chunkSize}
	r := rand.New(rand.NewPCG(1, 2))
	for range 3 {
		sizes = append(sizes, r.IntN(5*chunkSize))
	}
	return sizes
}

func TestRoundTrip(t *testing.T) {
	id := mustIdentity(t)
	keys := map[string]string{"k1": mustKey(t), "old": mustKey(t)}
	tests := []struct {
		name    string
		write   *Keyring
		readKR  *Keyring
		readIDs []age.Identity
	}{
		{name: "raw key", write: newTestKeyring(t, "k1", keys, ""), readKR: newTestKeyring(t, "", keys, "")},
		{name: "recovery via keyring", write: newTestKeyring(t, "k1", keys, id.Recipient().String()),
			readKR: newTestKeyring(t, "k1", keys, "")},
		{name: "recovery via identity only", write: newTestKeyring(t, "k1", keys, id.Recipient().String()),
			readIDs: []age.Identity{mustIdentity(t), id}},
	}
	for _, tt := range tests {
		for i, size := range roundTripSizes() {
			plain := pseudo(size, uint64(i))
			obj := seal(t, tt.write, plain)
			info, err := ReadHeaderInfo(bytes.NewReader(obj))
			if err != nil {
				t.Fatalf("%s/%d: ReadHeaderInfo: %v", tt.name, size, err)
			}
			if want := info.HeaderSize + size + numChunks(size)*tagSize; len(obj) != want {
				t.Fatalf("%s/%d: object is %d bytes, want %d", tt.name, size, len(obj), want)
			}
			got, err := open(obj, tt.readKR, tt.readIDs...)
			if err != nil {
				t.Fatalf("%s/%d: open: %v", tt.name, size, err)
			}
			if !bytes.Equal(got, plain) {
				t.Fatalf("%s/%d: plaintext differs (got %d bytes)", tt.name, size, len(got))
			}
		}
	}
}

func TestRoundTripPassphrase(t *testing.T) {
	keys := map[string]string{"pp": "correct horse battery staple"}
	kr := newTestKeyring(t, "pp", keys, "")
	for _, size := range []int{0, chunkSize + 1} {
		plain := pseudo(size, 7)
		obj := seal(t, kr, plain)
		info, err := ReadHeaderInfo(bytes.NewReader(obj))
		if err != nil || !info.Passphrase || info.KeyID != "pp" {
			t.Fatalf("header info %+v, %v: want passphrase key pp", info, err)
		}
		got, err := open(obj, newTestKeyring(t, "", keys, ""))
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("size %d: open: %v (equal %t)", size, err, bytes.Equal(got, plain))
		}
	}
}

// TestPassphraseDefaultParams runs the real Argon2id parameters once.
func TestPassphraseDefaultParams(t *testing.T) {
	if testing.Short() {
		t.Skip("argon2id with 64 MiB is slow")
	}
	keys := map[string]string{"pp": "a long enough passphrase"}
	kr, err := NewKeyring("pp", keys, "")
	if err != nil {
		t.Fatal(err)
	}
	obj := seal(t, kr, []byte("hello"))
	h, err := readHeader(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	if h.key.params != defaultArgon2Params() {
		t.Fatalf("stanza params %+v, want defaults", h.key.params)
	}
	got, err := open(obj, kr)
	if err != nil || string(got) != "hello" {
		t.Fatalf("open: %q, %v", got, err)
	}
}

func TestReaderContract(t *testing.T) {
	kr := newTestKeyring(t, "k1", map[string]string{"k1": mustKey(t)}, "")
	plain := pseudo(2*chunkSize+333, 3)
	obj := seal(t, kr, plain)
	r, err := NewReader(bytes.NewReader(obj), kr)
	if err != nil {
		t.Fatal(err)
	}
	if err := iotest.TestReader(r, plain); err != nil {
		t.Fatal(err)
	}
	// One byte at a time from a source that returns one byte per Read.
	r, err = NewReader(iotest.OneByteReader(bytes.NewReader(obj)), kr)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(iotest.OneByteReader(r))
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("one-byte reads: %v, equal %t", err, bytes.Equal(got, plain))
	}
}

func TestReaderPropagatesSourceError(t *testing.T) {
	kr := newTestKeyring(t, "k1", map[string]string{"k1": mustKey(t)}, "")
	obj := seal(t, kr, pseudo(3*chunkSize, 4))
	boom := errors.New("network down")
	src := io.MultiReader(bytes.NewReader(obj[:len(obj)/2]), iotest.ErrReader(boom))
	r, err := NewReader(src, kr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r); !errors.Is(err, boom) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v, want the source error and not ErrCorrupt", err)
	}
}

func TestWriterEachObjectDiffers(t *testing.T) {
	kr := newTestKeyring(t, "k1", map[string]string{"k1": mustKey(t)}, "")
	a, b := seal(t, kr, []byte("same")), seal(t, kr, []byte("same"))
	if bytes.Equal(a, b) {
		t.Fatal("two encryptions of the same plaintext are identical")
	}
}

type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }

// failAfter accepts n writes, then fails.
type failAfter struct {
	n   int
	err error
}

func (w *failAfter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, w.err
	}
	w.n--
	return len(p), nil
}

func TestWriterErrors(t *testing.T) {
	kr := newTestKeyring(t, "k1", map[string]string{"k1": mustKey(t)}, "")
	boom := errors.New("disk full")
	if _, err := NewWriter(errWriter{boom}, kr); !errors.Is(err, boom) {
		t.Fatalf("header write: got %v, want %v", err, boom)
	}
	w, err := NewWriter(&failAfter{n: 1, err: boom}, kr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, chunkSize+1)); !errors.Is(err, boom) {
		t.Fatalf("chunk write: got %v, want %v", err, boom)
	}
	if _, err := w.Write([]byte{1}); !errors.Is(err, boom) {
		t.Fatalf("write after failure: got %v, want sticky %v", err, boom)
	}
	if err := w.Close(); !errors.Is(err, boom) {
		t.Fatalf("close after failure: got %v, want %v", err, boom)
	}
	w, _ = NewWriter(io.Discard, kr)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte{1}); !errors.Is(err, errClosed) {
		t.Fatalf("write after close: got %v", err)
	}
	if _, err := NewWriter(io.Discard, newTestKeyring(t, "", map[string]string{"k1": mustKey(t)}, "")); err == nil {
		t.Fatal("NewWriter accepted a keyring without an active key")
	}
}

// TestNoPerChunkAllocations holds the writer and reader to zero allocations
// once running.
func TestNoPerChunkAllocations(t *testing.T) {
	kr := newTestKeyring(t, "k1", map[string]string{"k1": mustKey(t)}, "")
	block := pseudo(1<<20, 5)
	w, err := NewWriter(io.Discard, kr)
	if err != nil {
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(5, func() { w.Write(block) }); a != 0 {
		t.Fatalf("writer: %v allocations per 1 MiB", a)
	}
	obj := seal(t, kr, pseudo(8<<20, 6))
	r, err := NewReader(bytes.NewReader(obj), kr)
	if err != nil {
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(5, func() { io.ReadFull(r, block) }); a != 0 {
		t.Fatalf("reader: %v allocations per 1 MiB", a)
	}
}
