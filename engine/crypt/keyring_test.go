package crypt

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

func TestNewKeyring(t *testing.T) {
	raw := mustKey(t)
	recipient := mustIdentity(t).Recipient().String()
	tests := []struct {
		name      string
		active    string
		keys      map[string]string
		recipient string
		wantErr   string
	}{
		{name: "raw key", active: "k1", keys: map[string]string{"k1": raw}},
		{name: "read-only", keys: map[string]string{"k1": raw}},
		{name: "with recovery", active: "k1", keys: map[string]string{"k1": raw}, recipient: recipient},
		{name: "active missing", active: "k2", keys: map[string]string{"k1": raw}, wantErr: `active key "k2"`},
		{name: "empty key", active: "k1", keys: map[string]string{"k1": ""}, wantErr: "empty key"},
		{name: "empty id", keys: map[string]string{"": raw}, wantErr: "key id"},
		{name: "control char id", keys: map[string]string{"a\nb": raw}, wantErr: "printable"},
		{name: "long id", keys: map[string]string{strings.Repeat("x", 256): raw}, wantErr: "key id"},
		{name: "bad recipient", active: "k1", keys: map[string]string{"k1": raw}, recipient: "ssh-ed25519 AAAA",
			wantErr: "age recipient"},
		{name: "malformed recipient", active: "k1", keys: map[string]string{"k1": raw}, recipient: "age1xyz",
			wantErr: "recovery recipient"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr, err := NewKeyring(tt.active, tt.keys, tt.recipient)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want error containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), raw) {
					t.Fatalf("error leaks the key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if kr.Active() != tt.active || !kr.Has("k1") || kr.Has("nope") || kr.HasRecovery() != (tt.recipient != "") {
				t.Fatalf("keyring %v does not reflect its input", kr)
			}
		})
	}
}

func TestKeyKinds(t *testing.T) {
	raw := mustKey(t)
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	kr, err := NewKeyring("", map[string]string{"raw": raw, "nl": raw + "\n", "short": short, "pp": "hunter2 hunter2"}, "")
	if err != nil {
		t.Fatal(err)
	}
	for id, wantPass := range map[string]bool{"raw": false, "nl": false, "short": true, "pp": true} {
		if got := kr.keys[id].passphrase != nil; got != wantPass {
			t.Errorf("%s: passphrase=%t, want %t", id, got, wantPass)
		}
	}
}

func TestKeyringDoesNotPrintKeys(t *testing.T) {
	raw := mustKey(t)
	kr, err := NewKeyring("k1", map[string]string{"k1": raw, "pp": "my passphrase"}, "")
	if err != nil {
		t.Fatal(err)
	}
	rawBytes, _ := base64.StdEncoding.DecodeString(raw)
	secrets := []string{"my passphrase", strings.Trim(fmt.Sprint([]byte("my passphrase")), "[]"),
		strings.Trim(fmt.Sprint(rawBytes), "[]"), fmt.Sprintf("%x", rawBytes[:8]), raw}
	prints := []string{fmt.Sprint(kr), fmt.Sprintf("%+v", kr), fmt.Sprintf("%#v", kr), fmt.Sprintf("%v", *kr),
		fmt.Sprintf("%+v", kr.keys), fmt.Sprintf("%#v", kr.keys)}
	for _, s := range prints {
		if containsAny(s, secrets) {
			t.Fatalf("keyring printed key material: %s", s)
		}
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestGenerateKey(t *testing.T) {
	a, b := mustKey(t), mustKey(t)
	if a == b {
		t.Fatal("two generated keys are equal")
	}
	k, err := base64.StdEncoding.DecodeString(a)
	if err != nil || len(k) != KeySize {
		t.Fatalf("key %q decodes to %d bytes, %v", a, len(k), err)
	}
}
