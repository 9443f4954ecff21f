package crypt

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

func noEnv(string) (string, bool) { return "", false }

func envWith(k, v string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		if name == k {
			return v, true
		}
		return "", false
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunKeygen(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := RunKeygen(nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	k, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(out.String(), "\n"))
	if err != nil || len(k) != KeySize {
		t.Fatalf("keygen printed %q", out.String())
	}
	// The printed key works as a keyring key.
	if _, err := NewKeyring("a", map[string]string{"a": out.String()}, ""); err != nil {
		t.Fatal(err)
	}

	out.Reset()
	errOut.Reset()
	if code := RunKeygen([]string{"--age"}, &out, &errOut); code != 0 {
		t.Fatalf("--age exit %d: %s", code, errOut.String())
	}
	ids, err := age.ParseIdentities(bytes.NewReader(out.Bytes()))
	if err != nil || len(ids) != 1 {
		t.Fatalf("--age output is not an identity file: %v", err)
	}
	recipient := ids[0].(*age.X25519Identity).Recipient().String()
	if !strings.Contains(errOut.String(), recipient) || !strings.Contains(out.String(), "# public key: "+recipient) {
		t.Fatalf("recipient %s not printed: stdout %q stderr %q", recipient, out.String(), errOut.String())
	}

	if code := RunKeygen([]string{"extra"}, &out, &errOut); code != 2 {
		t.Fatalf("positional argument: exit %d, want 2 (usage error)", code)
	}
	if code := RunKeygen([]string{"--nope"}, &out, &errOut); code != 2 {
		t.Fatalf("unknown flag: exit %d, want 2 (usage error)", code)
	}
}

func TestRunKeygenOutputFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "key")
	var out, errOut bytes.Buffer
	if code := RunKeygen([]string{"-o", p}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o600 || out.Len() != 0 {
		t.Fatalf("key file %v mode %v, stdout %q", err, st.Mode(), out.String())
	}
	before, _ := os.ReadFile(p)
	if code := RunKeygen([]string{"-o", p}, &out, &errOut); code != 1 {
		t.Fatalf("existing file: exit %d, want 1", code)
	}
	if after, _ := os.ReadFile(p); !bytes.Equal(before, after) {
		t.Fatal("keygen overwrote an existing key file")
	}
}

func TestRunDecrypt(t *testing.T) {
	raw := mustKey(t)
	id := mustIdentity(t)
	kr := newTestKeyring(t, "prod-2026", map[string]string{"prod-2026": raw}, id.Recipient().String())
	plain := pseudo(2*chunkSize+17, 11)
	obj := seal(t, kr, plain)
	ppKR := newTestKeyring(t, "pp", map[string]string{"pp": "open sesame"}, "")
	ppObj := seal(t, ppKR, plain)
	idFile := writeFile(t, "recovery.txt", "# comment\n"+id.String()+"\n")

	tests := []struct {
		name string
		args []string
		env  func(string) (string, bool)
		obj  []byte
	}{
		{"key file", []string{"--key-file", writeFile(t, "k", raw+"\n")}, noEnv, obj},
		{"env", nil, envWith(EnvKey, raw), obj},
		{"key flag", []string{"--key", raw}, noEnv, obj},
		{"identity only", []string{"--identity", idFile}, noEnv, obj},
		{"wrong env key, right identity", []string{"--identity", idFile}, envWith(EnvKey, mustKey(t)), obj},
		{"passphrase key file", []string{"--key-file", writeFile(t, "p", "open sesame\r\n")}, noEnv, ppObj},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := RunDecrypt(tt.args, bytes.NewReader(tt.obj), &out, &errOut, tt.env); code != 0 {
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
	kr := newTestKeyring(t, "k1", map[string]string{"k1": raw}, "")
	obj := seal(t, kr, pseudo(3*chunkSize, 12))
	wrong := mustKey(t)
	tests := []struct {
		name    string
		args    []string
		env     func(string) (string, bool)
		obj     []byte
		wantMsg string
		usage   bool // a usage error: exit 2, not 1
	}{
		{"wrong key", []string{"--key-file", writeFile(t, "k", wrong)}, noEnv, obj, "wrong decryption key", false},
		{"wrong env key", nil, envWith(EnvKey, wrong), obj, "wrong decryption key", false},
		{"truncated", []string{"--key", raw}, noEnv, obj[:len(obj)-chunkSize], "corrupt", false},
		{"trailing", []string{"--key", raw}, noEnv, append(bytes.Clone(obj), 'x'), "corrupt", false},
		{"no key", nil, noEnv, obj, "no key", false},
		{"both key flags", []string{"--key", raw, "--key-file", "x"}, noEnv, obj, "mutually exclusive", false},
		{"missing key file", []string{"--key-file", "/nonexistent/key"}, noEnv, obj, "key file", false},
		{"bad identity file", []string{"--identity", writeFile(t, "id", "not an identity\n")}, noEnv, obj, "identity", false},
		{"identity without recovery stanza", []string{"--identity", writeFile(t, "id",
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
			if code := RunDecrypt(tt.args, bytes.NewReader(tt.obj), &out, &errOut, tt.env); code != want {
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
	kr := newTestKeyring(t, "k1", map[string]string{"k1": raw}, "")
	plain := pseudo(3*chunkSize, 13)
	obj := seal(t, kr, plain)
	dir := t.TempDir()
	in := filepath.Join(dir, "obj.jgd")
	if err := os.WriteFile(in, obj[:len(obj)-10], 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "plain")
	var stdout, stderr bytes.Buffer
	if code := RunDecrypt([]string{"-i", in, "-o", out}, nil, &stdout, &stderr, envWith(EnvKey, raw)); code != 1 {
		t.Fatalf("truncated input: exit %d, want 1", code)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("failed decrypt left files behind: %v", entries)
	}
	if err := os.WriteFile(in, obj, 0o600); err != nil {
		t.Fatal(err)
	}
	if code := RunDecrypt([]string{"--input", in, "--output", out}, nil, &stdout, &stderr, envWith(EnvKey, raw)); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	got, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(got, plain) || stdout.Len() != 0 {
		t.Fatalf("output file: %v, equal %t, stdout %d bytes", err, bytes.Equal(got, plain), stdout.Len())
	}
}
