package crypt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"filippo.io/age"
)

// fixture is one sealed object and the keyring that opens it.
type fixture struct {
	kr    *Keyring
	plain []byte
	obj   []byte
	hlen  int
}

func newFixture(t *testing.T, size int, recipient string) fixture {
	t.Helper()
	kr := newTestKeyring(t, "k1", map[string]string{"k1": mustKey(t)}, recipient)
	plain := pseudo(size, uint64(size))
	obj := seal(t, kr, plain)
	info, err := ReadHeaderInfo(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	return fixture{kr: kr, plain: plain, obj: obj, hlen: info.HeaderSize}
}

// chunk returns the byte range of sealed chunk i.
func (f fixture) chunk(i int) (int, int) {
	start := f.hlen + i*(chunkSize+tagSize)
	return start, min(start+chunkSize+tagSize, len(f.obj))
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestWrongKey(t *testing.T) {
	id := mustIdentity(t)
	f := newFixture(t, 1000, id.Recipient().String())
	pp := newTestKeyring(t, "k1", map[string]string{"k1": "a passphrase"}, "")
	ppObj := seal(t, pp, []byte("secret"))
	tests := []struct {
		name string
		obj  []byte
		kr   *Keyring
		ids  []age.Identity
	}{
		{"other raw key", f.obj, newTestKeyring(t, "", map[string]string{"k1": mustKey(t)}, ""), nil},
		{"passphrase for raw key", f.obj, newTestKeyring(t, "", map[string]string{"k1": "guess"}, ""), nil},
		{"wrong passphrase", ppObj, newTestKeyring(t, "", map[string]string{"k1": "b passphrase"}, ""), nil},
		{"raw key for passphrase", ppObj, newTestKeyring(t, "", map[string]string{"k1": mustKey(t)}, ""), nil},
		{"wrong identity", f.obj, nil, []age.Identity{mustIdentity(t)}},
		{"wrong key and wrong identity", f.obj, newTestKeyring(t, "", map[string]string{"k1": mustKey(t)}, ""),
			[]age.Identity{mustIdentity(t)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := open(tt.obj, tt.kr, tt.ids...)
			wantErrClass(t, err, ErrWrongKey)
			if errors.Is(err, ErrCorrupt) {
				t.Fatalf("wrong key reported as corrupt: %v", err)
			}
		})
	}
	// A wrong keyring key with the right identity still opens the object.
	got, err := open(f.obj, newTestKeyring(t, "", map[string]string{"k1": mustKey(t)}, ""), id)
	if err != nil || !bytes.Equal(got, f.plain) {
		t.Fatalf("fallback to identity: %v", err)
	}
}

func TestUnknownKeyID(t *testing.T) {
	f := newFixture(t, 10, "")
	other := newTestKeyring(t, "", map[string]string{"k2": mustKey(t)}, "")
	for _, ids := range [][]age.Identity{nil, {mustIdentity(t)}} { // no recovery stanza to fall back on
		_, err := open(f.obj, other, ids...)
		var uk *UnknownKeyError
		if !errors.As(err, &uk) || uk.ID != "k1" {
			t.Fatalf("got %v, want UnknownKeyError{k1}", err)
		}
		if !bytes.Contains([]byte(err.Error()), []byte(`"k1"`)) {
			t.Fatalf("error %q does not name the key id", err)
		}
	}
	if _, err := open(f.obj, nil); err == nil {
		t.Fatal("opened with neither keyring nor identity")
	}
}

func TestTruncation(t *testing.T) {
	f := newFixture(t, 3*chunkSize+100, "") // chunks 0..2 full, chunk 3 final (100 bytes)
	c1s, _ := f.chunk(1)
	c3s, c3e := f.chunk(3)
	tests := []struct {
		name string
		cut  int
		want error
	}{
		{"empty", 0, ErrTruncated},
		{"inside magic", 5, ErrTruncated},
		{"after magic", 8, ErrTruncated},
		{"inside fixed header", 30, ErrTruncated},
		{"inside key stanza", fixedSize + 10, ErrTruncated},
		{"inside MAC", f.hlen - 1, ErrTruncated},
		{"header only", f.hlen, ErrTruncated},
		{"inside first chunk", f.hlen + 1000, ErrCorrupt},
		{"chunk boundary", c1s, ErrTruncated},
		{"before final chunk", c3s, ErrTruncated},
		{"inside final chunk", c3s + 50, ErrCorrupt},
		{"final chunk minus one byte", c3e - 1, ErrCorrupt},
		{"final tag only", c3s + tagSize - 1, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := open(f.obj[:tt.cut], f.kr)
			wantErrClass(t, err, tt.want)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%v does not wrap ErrCorrupt", err)
			}
		})
	}
	// A full final chunk: the object ends exactly after it, so cutting one
	// chunk earlier leaves a non-final chunk last.
	g := newFixture(t, 2*chunkSize, "")
	_, c0e := g.chunk(0)
	_, err := open(g.obj[:c0e], g.kr)
	wantErrClass(t, err, ErrTruncated)
}

func TestChunkTampering(t *testing.T) {
	f := newFixture(t, 3*chunkSize+100, "")
	h := f.obj[:f.hlen]
	var c [4][]byte
	for i := range c {
		s, e := f.chunk(i)
		c[i] = f.obj[s:e]
	}
	full := newFixture(t, chunkSize, "") // single full-size final chunk
	tests := []struct {
		name string
		obj  []byte
		kr   *Keyring
	}{
		{"swapped chunks", cat(h, c[1], c[0], c[2], c[3]), f.kr},
		{"duplicated chunk", cat(h, c[0], c[0], c[1], c[2], c[3]), f.kr},
		{"dropped chunk", cat(h, c[0], c[2], c[3]), f.kr},
		{"final chunk moved first", cat(h, c[3]), f.kr},
		{"trailing byte", cat(f.obj, []byte{0}), f.kr},
		{"trailing chunk copy", cat(f.obj, c[3]), f.kr},
		{"trailing after full final chunk", cat(full.obj, []byte("x")), full.kr},
		{"repeated full final chunk", cat(full.obj, full.obj[full.hlen:]), full.kr},
		{"chunk from another object", cat(full.obj[:full.hlen], c[0]), full.kr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := open(tt.obj, tt.kr)
			wantErrClass(t, err, ErrCorrupt)
			if errors.Is(err, ErrWrongKey) {
				t.Fatalf("corruption reported as wrong key: %v", err)
			}
		})
	}
}

// sealCustom writes chunks by hand through the writer's internals to forge
// objects the writer never produces (with the right key).
func sealCustom(t *testing.T, kr *Keyring, steps func(w *writer)) []byte {
	t.Helper()
	var buf bytes.Buffer
	wc, err := NewWriter(&buf, kr)
	if err != nil {
		t.Fatal(err)
	}
	steps(wc.(*writer))
	return buf.Bytes()
}

func TestForgedChunkSequences(t *testing.T) {
	kr := newTestKeyring(t, "k1", map[string]string{"k1": mustKey(t)}, "")
	block := pseudo(chunkSize, 9)
	tests := []struct {
		name  string
		steps func(w *writer)
	}{
		{"second final chunk", func(w *writer) {
			w.Write(block)
			w.seal(true)
			w.Write([]byte("more"))
			w.seal(true)
		}},
		{"empty final chunk after data", func(w *writer) {
			w.Write(block)
			w.seal(false)
			w.Close()
		}},
		{"short non-final chunk", func(w *writer) {
			w.Write([]byte("short"))
			w.seal(false)
			w.Write([]byte("end"))
			w.Close()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := open(sealCustom(t, kr, tt.steps), kr)
			wantErrClass(t, err, ErrCorrupt)
		})
	}
}

// errAny marks header bytes where a flipped bit must be rejected, with an
// error class that depends on the bit (the byte is a length or a count).
var errAny = errors.New("any rejection")

// headerClass maps byte i of the header of a raw-key object with key id "k1"
// to the error class a flipped bit there must produce (nil = UnknownKeyError).
func headerClass(i, ageStart int) error {
	const (
		stanzaBody = fixedSize + 3 // after type and length
		idStart    = stanzaBody + 1
		saltStart  = idStart + 2 // id "k1"
		wrapEnd    = saltStart + saltSize + wrappedSize
	)
	switch {
	case i < 7:
		return ErrFormat
	case i < 14: // version, suite, flags, chunk size
		return ErrUnsupported
	case i < fixedSize-1: // salt, nonce prefix: caught by the MAC
		return ErrCorrupt
	case i < idStart: // stanza count, type, length, id length
		return errAny
	case i < saltStart:
		return nil
	case i < wrapEnd:
		return ErrWrongKey
	case i < ageStart: // age stanza header
		return errAny
	default: // age stanza body and MAC: the keyring unwraps, the MAC fails
		return ErrCorrupt
	}
}

func TestHeaderBitFlips(t *testing.T) {
	for _, recovery := range []bool{false, true} {
		var r string
		if recovery {
			r = mustIdentity(t).Recipient().String()
		}
		f := newFixture(t, 100, r)
		ageStart := f.hlen - macSize
		if recovery {
			ageStart = fixedSize + 3 + 1 + 2 + saltSize + wrappedSize + 3
		}
		for i := range f.hlen {
			for _, bit := range []byte{0x01, 0x80} {
				obj := bytes.Clone(f.obj)
				obj[i] ^= bit
				_, err := open(obj, f.kr)
				want := headerClass(i, ageStart)
				name := fmt.Sprintf("recovery=%t byte %d bit %#x", recovery, i, bit)
				if want == errAny {
					if err == nil {
						t.Fatalf("%s: accepted", name)
					}
					continue
				}
				t.Run(name, func(t *testing.T) { wantErrClass(t, err, want) })
			}
		}
	}
}

func TestBodyBitFlips(t *testing.T) {
	f := newFixture(t, 2*chunkSize+10, "")
	for _, off := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + tagSize - 1, chunkSize + tagSize,
		2*(chunkSize+tagSize) + 5, len(f.obj) - f.hlen - 1} {
		obj := bytes.Clone(f.obj)
		obj[f.hlen+off] ^= 0x04
		r, err := NewReader(bytes.NewReader(obj), f.kr)
		if err != nil {
			t.Fatalf("offset %d: header rejected: %v", off, err)
		}
		got, err := io.ReadAll(r)
		wantErrClass(t, err, ErrCorrupt)
		if len(got) > (off/(chunkSize+tagSize))*chunkSize {
			t.Fatalf("offset %d: %d bytes of the damaged chunk were released", off, len(got))
		}
	}
}

// TestHeaderBindsPayload re-signs an edited header with the real data key:
// the MAC then passes, yet every chunk must fail because the payload key
// covers the header hash.
func TestHeaderBindsPayload(t *testing.T) {
	f := newFixture(t, chunkSize+5, mustIdentity(t).Recipient().String())
	h, err := readHeader(bytes.NewReader(f.obj))
	if err != nil {
		t.Fatal(err)
	}
	dataKey, err := unwrapHeader(h, f.kr, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.age = nil // drop the recovery stanza
	body := h.marshalBody()
	forged := cat(body, headerMAC(dataKey, h.salt, body), f.obj[f.hlen:])
	r, err := NewReader(bytes.NewReader(forged), f.kr)
	if err != nil {
		t.Fatalf("re-signed header rejected: %v", err)
	}
	got, err := io.ReadAll(r)
	wantErrClass(t, err, ErrCorrupt)
	if len(got) != 0 {
		t.Fatalf("%d bytes released under an edited header", len(got))
	}
}

func TestReadHeaderInfo(t *testing.T) {
	f := newFixture(t, 10, mustIdentity(t).Recipient().String())
	src := bytes.NewReader(f.obj)
	info, err := ReadHeaderInfo(src)
	if err != nil {
		t.Fatal(err)
	}
	want := HeaderInfo{Version: 1, ChunkSize: chunkSize, KeyID: "k1", HasRecovery: true, HeaderSize: f.hlen}
	if info != want {
		t.Fatalf("got %+v, want %+v", info, want)
	}
	if rest := src.Len(); rest != len(f.obj)-f.hlen {
		t.Fatalf("consumed %d bytes, want exactly the %d-byte header", len(f.obj)-rest, f.hlen)
	}
	if _, err := ReadHeaderInfo(bytes.NewReader([]byte("PGDMP\x01\x0e\x00 not ours"))); !errors.Is(err, ErrFormat) {
		t.Fatalf("foreign file: got %v, want ErrFormat", err)
	}
}
