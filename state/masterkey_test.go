package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadOrCreateMasterKeyFromEnv(t *testing.T) {
	raw := bytes.Repeat([]byte{7}, 32)
	pass := sha256.Sum256([]byte("correct horse battery staple"))
	short := base64.StdEncoding.EncodeToString([]byte("only sixteen byt"))
	shortSum := sha256.Sum256([]byte(short))
	tests := []struct {
		name string
		env  string
		want []byte
	}{
		{"base64 of 32 bytes", base64.StdEncoding.EncodeToString(raw), raw},
		{"passphrase", "correct horse battery staple", pass[:]},
		{"base64 of 16 bytes is a passphrase", short, shortSum[:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			key, generated, err := LoadOrCreateMasterKey(dir, tt.env)
			if err != nil || generated || !bytes.Equal(key, tt.want) {
				t.Fatalf("key = %x, %v, %v; want %x", key, generated, err, tt.want)
			}
			if _, err := os.Stat(filepath.Join(dir, MasterKeyFile)); !os.IsNotExist(err) {
				t.Errorf("a key file was written although the key came from the environment")
			}
		})
	}
}

func TestLoadOrCreateMasterKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	key, generated, err := LoadOrCreateMasterKey(dir, "")
	if err != nil || !generated || len(key) != 32 {
		t.Fatalf("first call: %d bytes, generated=%v, %v", len(key), generated, err)
	}
	path := filepath.Join(dir, MasterKeyFile)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi.Mode(), err)
	}
	again, generated, err := LoadOrCreateMasterKey(dir, "")
	if err != nil || generated || !bytes.Equal(again, key) {
		t.Fatalf("second call: generated=%v, %v, same=%v", generated, err, bytes.Equal(again, key))
	}
	if err := os.WriteFile(path, []byte("not base64!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateMasterKey(dir, ""); err == nil {
		t.Fatal("corrupt key file accepted")
	}
}
