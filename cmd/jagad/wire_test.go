package main

import (
	"bytes"
	"io"
	"testing"

	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/engine/crypt"
)

// keySaltOf returns the stanza type and the key salt of a .jgd object whose
// key id is "k1" (engine/crypt/FORMAT.md §2, §3.5: a 54-byte fixed header,
// then type, length, id length, id, key salt).
func keySaltOf(t *testing.T, obj []byte) (byte, []byte) {
	t.Helper()
	const at = 54 + 3 + 1 + len("k1")
	if len(obj) < at+32 {
		t.Fatalf("object of %d bytes", len(obj))
	}
	return obj[54], obj[at : at+32]
}

func sealWith(t *testing.T, kr *crypt.Keyring, plain string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := crypt.NewWriter(&buf, kr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func openWith(t *testing.T, obj []byte, key string) string {
	t.Helper()
	r, err := crypt.OpenWithKey(bytes.NewReader(obj), key, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestKeySourceKeepsTheKeySaltAcrossReloads: keyrings rebuilt on each
// applied config share one Argon2id cache, so objects sealed before and
// after a reload carry the same key salt (one derivation per process);
// a changed passphrase gets a key salt of its own. Every object opens with
// its passphrase alone, as `jagad decrypt` does.
func TestKeySourceKeepsTheKeySaltAcrossReloads(t *testing.T) {
	file := func(pass string) *config.File {
		return &config.File{Encryption: &config.Encryption{ActiveKey: "k1", Keys: []config.Key{{ID: "k1", Key: pass}}}}
	}
	ks := newKeySource("")
	keyring := func() *crypt.Keyring {
		kr, err := ks.keyring()
		if err != nil || kr == nil {
			t.Fatalf("keyring %v, %v", kr, err)
		}
		return kr
	}
	ks.setFile(file("first passphrase"))
	kr1 := keyring()
	ks.setFile(file("first passphrase")) // a reload of the same file
	kr2 := keyring()
	if kr1 == kr2 {
		t.Fatal("the keyring was not rebuilt on reload")
	}
	obj1, obj2 := sealWith(t, kr1, "one"), sealWith(t, kr2, "two")
	typ1, salt1 := keySaltOf(t, obj1)
	typ2, salt2 := keySaltOf(t, obj2)
	if typ1 != 0x04 || typ2 != 0x04 {
		t.Fatalf("stanza types %#x %#x, want 0x04 (key salt)", typ1, typ2)
	}
	if !bytes.Equal(salt1, salt2) {
		t.Fatal("a reload drew a new key salt: Argon2id ran again")
	}
	ks.setFile(file("second passphrase"))
	obj3 := sealWith(t, keyring(), "three")
	if _, salt3 := keySaltOf(t, obj3); bytes.Equal(salt3, salt1) {
		t.Fatal("a changed passphrase kept the old key salt")
	}
	for _, c := range []struct {
		obj        []byte
		pass, want string
	}{
		{obj1, "first passphrase", "one"}, {obj2, "first passphrase", "two"}, {obj3, "second passphrase", "three"},
	} {
		if got := openWith(t, c.obj, c.pass); got != c.want {
			t.Fatalf("opened %q, want %q", got, c.want)
		}
	}
}
