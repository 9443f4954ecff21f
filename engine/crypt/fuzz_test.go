package crypt

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"filippo.io/age"
)

// fuzzSeeds returns valid objects (raw key, recovery, passphrase stanza) and
// the keyring and identity that open them.
func fuzzSeeds(f *testing.F) ([][]byte, *Keyring, age.Identity) {
	id := mustIdentity(f)
	key := mustKey(f)
	kr := newTestKeyring(f, "k1", map[string]string{"k1": key}, "")
	rec := newTestKeyring(f, "k1", map[string]string{"k1": key}, id.Recipient().String())
	pp := newTestKeyring(f, "pp", map[string]string{"pp": "passphrase"}, "")
	objs := [][]byte{
		seal(f, kr, nil),
		seal(f, kr, []byte("hello")),
		seal(f, rec, pseudo(300, 1)),
		seal(f, rec, pseudo(chunkSize+3, 2)),
		seal(f, pp, []byte("pp")),
	}
	return objs, kr, id
}

func FuzzReadHeader(f *testing.F) {
	objs, _, _ := fuzzSeeds(f)
	for _, o := range objs {
		f.Add(o)
	}
	f.Add([]byte("JAGAD\x00E\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		src := bytes.NewReader(data)
		info, err := ReadHeaderInfo(src)
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("unclassified header error: %v", err)
			}
			return
		}
		if consumed := len(data) - src.Len(); consumed != info.HeaderSize {
			t.Fatalf("consumed %d bytes, HeaderSize %d", consumed, info.HeaderSize)
		}
		if info.KeyID == "" || info.ChunkSize != chunkSize {
			t.Fatalf("accepted header with %+v", info)
		}
	})
}

// FuzzReader checks that the reader never panics and never accepts anything
// but an untouched object: every byte is authenticated.
func FuzzReader(f *testing.F) {
	objs, kr, id := fuzzSeeds(f)
	valid := map[string]bool{}
	for _, o := range objs {
		f.Add(o)
		valid[string(o)] = true
	}
	// The keyring holds a raw key for "pp" so passphrase stanzas are
	// rejected before Argon2id: fuzzing must not spend 1 GiB per input.
	kr.keys["pp"] = kr.keys["k1"]
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), kr, id)
		if err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, r); err == nil && !valid[string(data)] {
			t.Fatalf("accepted a %d-byte object that was never sealed", len(data))
		}
	})
}
