package main

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/jagad/jagad/engine/crypt"
)

// objChunk is the plaintext chunk size of an encrypted object
// (engine/crypt/FORMAT.md).
const objChunk = 64 << 10

func tempFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func fatalIf(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func mustKey(tb testing.TB) string {
	k, err := crypt.GenerateKey()
	fatalIf(tb, err)
	return k
}

func mustIdentity(tb testing.TB) *age.X25519Identity {
	id, err := age.GenerateX25519Identity()
	fatalIf(tb, err)
	return id
}

func sealingKeyring(tb testing.TB, active string, keys map[string]string, recipient string) *crypt.Keyring {
	kr, err := crypt.NewKeyring(active, keys, recipient)
	fatalIf(tb, err)
	return kr
}

// pseudo returns n deterministic pseudo-random bytes.
func pseudo(n int, seed uint64) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{byte(seed)}).Read(b)
	return b
}

// seal encrypts plain into an object.
func seal(tb testing.TB, kr *crypt.Keyring, plain []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w, err := crypt.NewWriter(&buf, kr)
	fatalIf(tb, err)
	_, err = w.Write(plain)
	fatalIf(tb, errors.Join(err, w.Close()))
	return buf.Bytes()
}

func TestRunDecrypt(t *testing.T) {
	raw := mustKey(t)
	id := mustIdentity(t)
	kr := sealingKeyring(t, "prod-2026", map[string]string{"prod-2026": raw}, id.Recipient().String())
	plain := pseudo(2*objChunk+17, 11)
	obj := seal(t, kr, plain)
	ppKR := sealingKeyring(t, "pp", map[string]string{"pp": "open sesame"}, "")
	ppObj := seal(t, ppKR, plain)
	idFile := tempFile(t, "recovery.txt", "# comment\n"+id.String()+"\n")

	tests := []struct {
		name string
		args []string
		env  func(string) (string, bool)
		obj  []byte
	}{
		{"key file", []string{"--key-file", tempFile(t, "k", raw+"\n")}, noEnv, obj},
		{"env", nil, mapEnv(map[string]string{crypt.EnvKey: raw}), obj},
		{"key flag", []string{"--key", raw}, noEnv, obj},
		{"identity only", []string{"--identity", idFile}, noEnv, obj},
		{"wrong env key, right identity", []string{"--identity", idFile}, mapEnv(map[string]string{crypt.EnvKey: mustKey(t)}), obj},
		{"passphrase key file", []string{"--key-file", tempFile(t, "p", "open sesame\r\n")}, noEnv, ppObj},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := runDecrypt(tt.args, bytes.NewReader(tt.obj), &out, &errOut, tt.env); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			if !bytes.Equal(out.Bytes(), plain) {
				t.Fatalf("plaintext differs (%d bytes)", out.Len())
			}
		})
	}
}

func TestRunDecryptFailures(t *testing.T) {
	raw := mustKey(t)
	kr := sealingKeyring(t, "k1", map[string]string{"k1": raw}, "")
	obj := seal(t, kr, pseudo(3*objChunk, 12))
	wrong := mustKey(t)
	tests := []struct {
		name    string
		args    []string
		env     func(string) (string, bool)
		obj     []byte
		wantMsg string
		usage   bool // a usage error: exit 2, not 1
	}{
		{"wrong key", []string{"--key-file", tempFile(t, "k", wrong)}, noEnv, obj, "wrong decryption key", false},
		{"wrong env key", nil, mapEnv(map[string]string{crypt.EnvKey: wrong}), obj, "wrong decryption key", false},
		{"truncated", []string{"--key", raw}, noEnv, obj[:len(obj)-objChunk], "corrupt", false},
		{"trailing", []string{"--key", raw}, noEnv, append(bytes.Clone(obj), 'x'), "corrupt", false},
		{"no key", nil, noEnv, obj, "no key", false},
		{"both key flags", []string{"--key", raw, "--key-file", "x"}, noEnv, obj, "mutually exclusive", false},
		{"missing key file", []string{"--key-file", "/nonexistent/key"}, noEnv, obj, "key file", false},
		{"bad identity file", []string{"--identity", tempFile(t, "id", "not an identity\n")}, noEnv, obj, "identity", false},
		{"identity without recovery stanza", []string{"--identity", tempFile(t, "id",
			mustIdentity(t).String())}, noEnv, obj, `"k1"`, false},
		{"not encrypted", []string{"--key", raw}, noEnv, []byte("-- MariaDB dump\n"), "not a jagad", false},
		{"positional", []string{"file.jgd"}, noEnv, obj, "unexpected argument", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			want := 1
			if tt.usage {
				want = 2
			}
			if code := runDecrypt(tt.args, bytes.NewReader(tt.obj), &out, &errOut, tt.env); code != want {
				t.Fatalf("exit %d, want %d", code, want)
			}
			msg := errOut.String()
			if !strings.Contains(msg, tt.wantMsg) {
				t.Fatalf("stderr %q does not mention %q", msg, tt.wantMsg)
			}
			if strings.Contains(msg, raw) || strings.Contains(msg, wrong) {
				t.Fatalf("stderr leaks a key: %q", msg)
			}
		})
	}
}

func TestRunDecryptOutputFile(t *testing.T) {
	raw := mustKey(t)
	kr := sealingKeyring(t, "k1", map[string]string{"k1": raw}, "")
	plain := pseudo(3*objChunk, 13)
	obj := seal(t, kr, plain)
	dir := t.TempDir()
	in := filepath.Join(dir, "obj.jgd")
	if err := os.WriteFile(in, obj[:len(obj)-10], 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "plain")
	var stdout, stderr bytes.Buffer
	if code := runDecrypt([]string{"-i", in, "-o", out}, nil, &stdout, &stderr, mapEnv(map[string]string{crypt.EnvKey: raw})); code != 1 {
		t.Fatalf("truncated input: exit %d, want 1", code)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("failed decrypt left files behind: %v", entries)
	}
	if err := os.WriteFile(in, obj, 0o600); err != nil {
		t.Fatal(err)
	}
	if code := runDecrypt([]string{"--input", in, "--output", out}, nil, &stdout, &stderr, mapEnv(map[string]string{crypt.EnvKey: raw})); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	got, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(got, plain) || stdout.Len() != 0 {
		t.Fatalf("output file: %v, equal %t, stdout %d bytes", err, bytes.Equal(got, plain), stdout.Len())
	}
}
