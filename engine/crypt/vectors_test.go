package crypt

import (
	"bytes"
	"encoding/base64"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"
)

var update = flag.Bool("update", false, "rewrite testdata vectors")

// Vector inputs, documented in FORMAT.md §8.
const vectorPassphrase = "jagad test passphrase"

func vectorKey() string {
	k := make([]byte, KeySize)
	for i := range k {
		k[i] = byte(i)
	}
	return base64.StdEncoding.EncodeToString(k)
}

func vectorPlain() []byte {
	p := make([]byte, chunkSize+100)
	for j := range p {
		p[j] = byte(j % 251)
	}
	return p
}

func readIdentity(t *testing.T, path string) age.Identity {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ids, err := age.ParseIdentities(f)
	if err != nil {
		t.Fatal(err)
	}
	return ids[0]
}

func writeVectors(t *testing.T) {
	id := mustIdentity(t)
	if err := os.WriteFile("testdata/recovery.txt", []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	kr := newTestKeyring(t, "k1", map[string]string{"k1": vectorKey()}, id.Recipient().String())
	pp := newTestKeyring(t, "pp", map[string]string{"pp": vectorPassphrase}, "")
	// v1-passphrase.jgd (a type 0x02 stanza) is kept as written by earlier
	// builds: writers no longer produce that stanza type.
	for name, obj := range map[string][]byte{
		"v1-key.jgd":                  seal(t, kr, vectorPlain()),
		"v1-passphrase-keysalt.jgd":   seal(t, pp, []byte("hello, jagad\n")),
		"v1-passphrase-keysalt-2.jgd": seal(t, pp, vectorPlain()),
	} {
		if err := os.WriteFile(filepath.Join("testdata", name), obj, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestVectors keeps the on-disk format stable: objects written by earlier
// builds must still decrypt.
func TestVectors(t *testing.T) {
	if *update {
		writeVectors(t)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	keyObj, ppObj := read("v1-key.jgd"), read("v1-passphrase.jgd")
	ks1, ks2 := read("v1-passphrase-keysalt.jgd"), read("v1-passphrase-keysalt-2.jgd")
	id := readIdentity(t, "testdata/recovery.txt")
	kr, kdfRuns := cachedTestKeyring(t, "", map[string]string{"k1": vectorKey(), "pp": vectorPassphrase}, DefaultKDFCacheSize)
	tests := []struct {
		name string
		obj  []byte
		kr   *Keyring
		ids  []age.Identity
		want []byte
	}{
		{"raw key", keyObj, kr, nil, vectorPlain()},
		{"recovery identity", keyObj, nil, []age.Identity{id}, vectorPlain()},
		{"passphrase, per-object Argon2id (type 0x02)", ppObj, kr, nil, []byte("hello, jagad\n")},
		{"passphrase, key salt (type 0x04)", ks1, kr, nil, []byte("hello, jagad\n")},
		{"passphrase, same key salt (type 0x04)", ks2, kr, nil, vectorPlain()},
		{"passphrase, per-object Argon2id again", ppObj, kr, nil, []byte("hello, jagad\n")},
	}
	for _, tt := range tests {
		got, err := open(tt.obj, tt.kr, tt.ids...)
		if err != nil || !bytes.Equal(got, tt.want) {
			t.Fatalf("%s: %v (equal %t)", tt.name, err, bytes.Equal(got, tt.want))
		}
	}
	// One Argon2id for the type 0x02 object (cached by its salt, so its
	// second opening is free) and one for both type 0x04 objects.
	if n := kdfRuns.Load(); n != 2 {
		t.Fatalf("Argon2id ran %d times, want 2", n)
	}
	for name, obj := range map[string][]byte{"v1-passphrase.jgd": ppObj, "v1-passphrase-keysalt.jgd": ks1} {
		want := byte(stanzaPassphrase2)
		if name == "v1-passphrase.jgd" {
			want = stanzaPassphrase
		}
		h, err := readHeader(bytes.NewReader(obj))
		if err != nil || h.key.params != cheapArgon2 || h.key.typ != want {
			t.Fatalf("%s: stanza type %#x params %+v, %v: want type %#x with %+v", name, h.key.typ, h.key.params, err, want, cheapArgon2)
		}
	}
	if !bytes.Equal(stanzaOf(t, ks1).keySalt, stanzaOf(t, ks2).keySalt) {
		t.Fatal("the two key-salt vectors were written with different key salts")
	}
}
