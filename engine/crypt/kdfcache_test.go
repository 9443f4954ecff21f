package crypt

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// countKDF makes c count its Argon2id runs.
func countKDF(c *KDFCache) *atomic.Int32 {
	var n atomic.Int32
	kdf := c.kdf
	c.kdf = func(pass, salt []byte, p argon2Params) []byte {
		n.Add(1)
		return kdf(pass, salt, p)
	}
	return &n
}

// cachedTestKeyring is newTestKeyring with a counting cache of the given size.
func cachedTestKeyring(tb testing.TB, active string, keys map[string]string, size int) (*Keyring, *atomic.Int32) {
	tb.Helper()
	c := NewKDFCache(size)
	n := countKDF(c)
	kr, err := NewKeyringCached(active, keys, "", c)
	if err != nil {
		tb.Fatal(err)
	}
	kr.kdf = cheapArgon2
	return kr, n
}

func stanzaOf(tb testing.TB, obj []byte) keyStanza {
	tb.Helper()
	h, err := readHeader(bytes.NewReader(obj))
	if err != nil {
		tb.Fatal(err)
	}
	return h.key
}

// TestPassphraseDerivedOncePerKeySalt: a keyring seals every object with one
// key salt and one Argon2id run, each object with its own stanza salt; a
// reader derives once for all of them.
func TestPassphraseDerivedOncePerKeySalt(t *testing.T) {
	keys := map[string]string{"pp": "correct horse battery staple"}
	kr, writes := cachedTestKeyring(t, "pp", keys, DefaultKDFCacheSize)
	var objs, plains [][]byte
	for i := range 4 {
		plains = append(plains, pseudo(100+i*chunkSize, uint64(i)))
		objs = append(objs, seal(t, kr, plains[i]))
	}
	if n := writes.Load(); n != 1 {
		t.Fatalf("sealing 4 objects ran Argon2id %d times, want 1", n)
	}
	first := stanzaOf(t, objs[0])
	for i, obj := range objs {
		s := stanzaOf(t, obj)
		if s.typ != stanzaPassphrase2 || s.params != cheapArgon2 {
			t.Fatalf("object %d: stanza type %#x params %+v, want type 0x04 with %+v", i, s.typ, s.params, cheapArgon2)
		}
		if !bytes.Equal(s.keySalt, first.keySalt) {
			t.Fatalf("object %d has another key salt than object 0", i)
		}
		if i > 0 && bytes.Equal(s.salt, first.salt) {
			t.Fatalf("object %d reuses object 0's stanza salt", i)
		}
	}
	rd, reads := cachedTestKeyring(t, "", keys, DefaultKDFCacheSize)
	for i, obj := range objs {
		got, err := open(obj, rd)
		if err != nil || !bytes.Equal(got, plains[i]) {
			t.Fatalf("object %d: %v (equal %t)", i, err, bytes.Equal(got, plains[i]))
		}
	}
	if n := reads.Load(); n != 1 {
		t.Fatalf("opening 4 objects of one key salt ran Argon2id %d times, want 1", n)
	}
}

// TestKDFCacheAcrossKeyrings: keyrings rebuilt over one cache (a config
// reload) keep the key salt and derive nothing; a changed passphrase under
// the same key id gets its own key salt and never the old passphrase's key.
func TestKDFCacheAcrossKeyrings(t *testing.T) {
	c := NewKDFCache(DefaultKDFCacheSize)
	n := countKDF(c)
	build := func(pass string) *Keyring {
		kr, err := NewKeyringCached("pp", map[string]string{"pp": pass}, "", c)
		if err != nil {
			t.Fatal(err)
		}
		kr.kdf = cheapArgon2
		return kr
	}
	a1, a2 := build("first passphrase"), build("first passphrase")
	objA1, objA2 := seal(t, a1, []byte("a1")), seal(t, a2, []byte("a2"))
	if got := n.Load(); got != 1 {
		t.Fatalf("two keyrings with one passphrase ran Argon2id %d times, want 1", got)
	}
	if !bytes.Equal(stanzaOf(t, objA1).keySalt, stanzaOf(t, objA2).keySalt) {
		t.Fatal("a rebuilt keyring drew a new key salt")
	}
	b := build("second passphrase")
	objB := seal(t, b, []byte("b"))
	if bytes.Equal(stanzaOf(t, objB).keySalt, stanzaOf(t, objA1).keySalt) {
		t.Fatal("a changed passphrase kept the old key salt")
	}
	if got, err := open(objB, b); err != nil || string(got) != "b" {
		t.Fatalf("new passphrase: %q, %v", got, err)
	}
	_, err := open(objB, a1)
	wantErrClass(t, err, ErrWrongKey)
	_, err = open(objA1, b)
	wantErrClass(t, err, ErrWrongKey)
	if got, err := open(objA2, a1); err != nil || string(got) != "a2" {
		t.Fatalf("old passphrase after the change: %q, %v", got, err)
	}
}

// TestKDFCacheBounded: the cache keeps the most recently used key salts,
// at most its size.
func TestKDFCacheBounded(t *testing.T) {
	keys := map[string]string{"pp": "passphrase"}
	var objs [][]byte
	for i := range 3 { // three writing processes: three key salts
		w, _ := cachedTestKeyring(t, "pp", keys, 1)
		objs = append(objs, seal(t, w, []byte(fmt.Sprint(i))))
	}
	rd, n := cachedTestKeyring(t, "", keys, 2)
	for _, step := range []struct {
		obj  int
		runs int32 // Argon2id runs so far
	}{{0, 1}, {1, 2}, {0, 2}, {1, 2}, {2, 3}, {1, 3}, {0, 4}} {
		got, err := open(objs[step.obj], rd)
		if err != nil || string(got) != fmt.Sprint(step.obj) {
			t.Fatalf("object %d: %q, %v", step.obj, got, err)
		}
		if got := n.Load(); got != step.runs {
			t.Fatalf("after object %d: %d Argon2id runs, want %d", step.obj, got, step.runs)
		}
	}
	if l := len(rd.cache.entries); l != 2 {
		t.Fatalf("cache holds %d entries, want 2", l)
	}
}

// TestKDFCacheConcurrent: concurrent writers and readers of one keyring run
// one Argon2id each way, never two at once.
func TestKDFCacheConcurrent(t *testing.T) {
	keys := map[string]string{"pp": "passphrase"}
	kr, n := cachedTestKeyring(t, "pp", keys, DefaultKDFCacheSize)
	var running, most atomic.Int32
	kdf := kr.cache.kdf
	kr.cache.kdf = func(pass, salt []byte, p argon2Params) []byte {
		r := running.Add(1)
		defer running.Add(-1)
		for m := most.Load(); r > m && !most.CompareAndSwap(m, r); m = most.Load() {
		}
		return kdf(pass, salt, p)
	}
	objs := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range objs {
		wg.Go(func() { objs[i] = seal(t, kr, []byte(fmt.Sprint(i))) })
	}
	wg.Wait()
	rd, reads := cachedTestKeyring(t, "", keys, DefaultKDFCacheSize)
	errs := make([]error, len(objs))
	for i := range objs {
		wg.Go(func() {
			got, err := open(objs[i], rd)
			if err == nil && string(got) != fmt.Sprint(i) {
				err = fmt.Errorf("got %q", got)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("object %d: %v", i, err)
		}
	}
	if w, r := n.Load(), reads.Load(); w != 1 || r != 1 {
		t.Fatalf("Argon2id runs: %d sealing, %d opening; want 1 and 1", w, r)
	}
	if m := most.Load(); m != 1 {
		t.Fatalf("%d Argon2id runs at once, want 1", m)
	}
}

// TestKeySaltStanzaBitFlips: every byte of a type 0x04 stanza is checked:
// the key salt, parameters, stanza salt and wrapped key by the unwrap (or
// the parameter bounds), the key id by the keyring lookup.
func TestKeySaltStanzaBitFlips(t *testing.T) {
	kr, _ := cachedTestKeyring(t, "pp", map[string]string{"pp": "passphrase"}, DefaultKDFCacheSize)
	obj := seal(t, kr, []byte("hello"))
	const (
		body      = fixedSize + 3
		idStart   = body + 1
		keySalt   = idStart + 2 // id "pp"
		params    = keySalt + saltSize
		stanzaEnd = params + 9 + saltSize + wrappedSize
	)
	if got := stanzaOf(t, obj); got.typ != stanzaPassphrase2 || body+int(obj[fixedSize+2]) != stanzaEnd {
		t.Fatalf("layout: type %#x, stanza body ends at %d, want %d", got.typ, body+int(obj[fixedSize+2]), stanzaEnd)
	}
	for i := idStart; i < stanzaEnd; i++ {
		for _, bit := range []byte{0x01, 0x80} {
			b := bytes.Clone(obj)
			b[i] ^= bit
			_, err := open(b, kr)
			switch {
			case i == idStart: // id length
				if err == nil {
					t.Fatalf("byte %d bit %#x: accepted", i, bit)
				}
			case i < keySalt:
				wantErrClass(t, err, nil)
			case i >= params && i < params+9:
				if err == nil || !(errors.Is(err, ErrWrongKey) || errors.Is(err, ErrUnsupported)) {
					t.Fatalf("params byte %d bit %#x: %v, want wrong key or unsupported", i, bit, err)
				}
			default:
				wantErrClass(t, err, ErrWrongKey)
			}
		}
	}
}
