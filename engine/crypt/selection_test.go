package crypt

import (
	"maps"
	"testing"
)

func TestSelectKeys(t *testing.T) {
	one := map[string]string{"k1": "key-one"}
	two := map[string]string{"k1": "key-one", "k2": "key-two"}
	tests := []struct {
		name       string
		in         KeyConfig
		wantKeys   map[string]string
		wantActive string
	}{
		{"nothing configured", KeyConfig{}, map[string]string{}, ""},
		{"environment only: id default, active", KeyConfig{EnvKey: "env"},
			map[string]string{"default": "env"}, "default"},
		{"single configured key is active", KeyConfig{Keys: one}, one, "k1"},
		{"two keys, none named: no active key", KeyConfig{Keys: two}, two, ""},
		{"named active key wins", KeyConfig{Keys: two, Active: "k2"}, two, "k2"},
		{"environment joins and is active when none is named", KeyConfig{Keys: one, EnvKey: "env"},
			map[string]string{"k1": "key-one", "default": "env"}, "default"},
		{"environment joins, named active key stays", KeyConfig{Keys: one, Active: "k1", EnvKey: "env"},
			map[string]string{"k1": "key-one", "default": "env"}, "k1"},
		{"configured key default is kept over the environment", KeyConfig{Keys: map[string]string{"default": "file"}, EnvKey: "env"},
			map[string]string{"default": "file"}, "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, active := SelectKeys(tt.in)
			if !maps.Equal(keys, tt.wantKeys) || active != tt.wantActive {
				t.Errorf("SelectKeys = %v, %q; want %v, %q", keys, active, tt.wantKeys, tt.wantActive)
			}
		})
	}
}

func TestSelectKeysLeavesConfigAlone(t *testing.T) {
	in := map[string]string{"k1": "key-one"}
	SelectKeys(KeyConfig{Keys: in, EnvKey: "env"})
	if len(in) != 1 {
		t.Fatalf("SelectKeys changed the configured keys: %v", in)
	}
}

func TestKeyringFor(t *testing.T) {
	raw := mustKey(t)
	tests := []struct {
		name       string
		in         KeyConfig
		wantNil    bool
		wantActive string
		wantErr    bool
	}{
		{"no key: no keyring", KeyConfig{}, true, "", false},
		{"environment key", KeyConfig{EnvKey: raw}, false, "default", false},
		{"two keys, none active: decrypt only", KeyConfig{Keys: map[string]string{"a": raw, "b": raw}}, false, "", false},
		{"active key missing", KeyConfig{Keys: map[string]string{"a": raw}, Active: "b"}, true, "", true},
		{"bad recipient", KeyConfig{EnvKey: raw, RecoveryRecipient: "age1nope"}, true, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr, err := KeyringFor(tt.in)
			if (err != nil) != tt.wantErr || (kr == nil) != tt.wantNil {
				t.Fatalf("KeyringFor = %v, %v; want nil %t, error %t", kr, err, tt.wantNil, tt.wantErr)
			}
			if kr != nil && kr.Active() != tt.wantActive {
				t.Errorf("active = %q, want %q", kr.Active(), tt.wantActive)
			}
		})
	}
}
