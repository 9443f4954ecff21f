package main

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/jagad/jagad/engine/crypt"
)

func TestRunKeygen(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := runKeygen(nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	k, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(out.String(), "\n"))
	if err != nil || len(k) != crypt.KeySize {
		t.Fatalf("keygen printed %q", out.String())
	}
	// The printed key works as a keyring key.
	if _, err := crypt.NewKeyring("a", map[string]string{"a": out.String()}, ""); err != nil {
		t.Fatal(err)
	}

	out.Reset()
	errOut.Reset()
	if code := runKeygen([]string{"--age"}, &out, &errOut); code != 0 {
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

	if code := runKeygen([]string{"extra"}, &out, &errOut); code != 2 {
		t.Fatalf("positional argument: exit %d, want 2 (usage error)", code)
	}
	if code := runKeygen([]string{"--nope"}, &out, &errOut); code != 2 {
		t.Fatalf("unknown flag: exit %d, want 2 (usage error)", code)
	}
}

func TestRunKeygenOutputFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "key")
	var out, errOut bytes.Buffer
	if code := runKeygen([]string{"-o", p}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o600 || out.Len() != 0 {
		t.Fatalf("key file %v mode %v, stdout %q", err, st.Mode(), out.String())
	}
	before, _ := os.ReadFile(p)
	if code := runKeygen([]string{"-o", p}, &out, &errOut); code != 1 {
		t.Fatalf("existing file: exit %d, want 1", code)
	}
	if after, _ := os.ReadFile(p); !bytes.Equal(before, after) {
		t.Fatal("keygen overwrote an existing key file")
	}
}
