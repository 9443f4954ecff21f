package crypt

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"filippo.io/age"
)

// cheapArgon2 keeps passphrase tests fast; readers take params from the stanza.
var cheapArgon2 = argon2Params{time: 1, memoryKiB: 64, threads: 1}

// newTestKeyring builds a keyring and switches new passphrase stanzas to cheap
// Argon2id parameters.
func newTestKeyring(tb testing.TB, active string, keys map[string]string, recipient string) *Keyring {
	tb.Helper()
	kr, err := NewKeyring(active, keys, recipient)
	if err != nil {
		tb.Fatalf("NewKeyring: %v", err)
	}
	kr.kdf = cheapArgon2
	return kr
}

func mustKey(tb testing.TB) string {
	tb.Helper()
	k, err := GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func mustIdentity(tb testing.TB) *age.X25519Identity {
	tb.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// pseudo returns n deterministic pseudo-random bytes.
func pseudo(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x6a61676164))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// seal encrypts plain, writing it in irregular pieces.
func seal(tb testing.TB, kr *Keyring, plain []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, kr)
	if err != nil {
		tb.Fatalf("NewWriter: %v", err)
	}
	for i, p := 0, plain; len(p) > 0; i++ {
		n := min(len(p), 1+(i*7919)%(3*chunkSize/2))
		if _, err := w.Write(p[:n]); err != nil {
			tb.Fatalf("Write: %v", err)
		}
		p = p[n:]
	}
	if err := w.Close(); err != nil {
		tb.Fatalf("Close: %v", err)
	}
	return buf.Bytes()
}

// open decrypts obj fully, returning the plaintext read and the first error.
func open(obj []byte, kr *Keyring, ids ...age.Identity) ([]byte, error) {
	r, err := NewReader(bytes.NewReader(obj), kr, ids...)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// numChunks is how many chunks a plaintext of n bytes takes.
func numChunks(n int) int {
	return max(1, (n+chunkSize-1)/chunkSize)
}

// wantErrClass checks err against a sentinel, or an *UnknownKeyError when want is nil.
func wantErrClass(tb testing.TB, err, want error) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("got success, want %v", want)
	}
	if want == nil {
		var uk *UnknownKeyError
		if !errors.As(err, &uk) {
			tb.Fatalf("got %v, want *UnknownKeyError", err)
		}
		return
	}
	if !errors.Is(err, want) {
		tb.Fatalf("got %v, want %v", err, want)
	}
}
