package crypt

import (
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"
)

// maxKeyFile bounds a key file.
const maxKeyFile = 64 << 10

// ReadKeyFile reads a key file: one non-empty line (a trailing newline is
// fine).
func ReadKeyFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("key file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return "", fmt.Errorf("key file %s: %w", path, err)
	}
	k := strings.TrimRight(string(b), "\r\n")
	if len(b) > maxKeyFile || k == "" || strings.ContainsAny(k, "\r\n") {
		return "", fmt.Errorf("key file %s must hold one non-empty line", path)
	}
	return k, nil
}

// LoadIdentities reads age identity files (recovery identities).
func LoadIdentities(paths []string) ([]age.Identity, error) {
	var ids []age.Identity
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("identity: %w", err)
		}
		got, err := age.ParseIdentities(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("identity file %s: %w", p, err)
		}
		ids = append(ids, got...)
	}
	return ids, nil
}

// OpenWithKey opens an object with key (a raw key or a passphrase) used
// for whatever key id its header names, and/or age recovery identities.
func OpenWithKey(in io.Reader, key string, ids []age.Identity) (io.Reader, error) {
	h, err := readHeader(in)
	if err != nil {
		return nil, err
	}
	var kr *Keyring
	if key != "" {
		e, err := parseKeyValue(key)
		if err != nil {
			return nil, err
		}
		kr = &Keyring{keys: map[string]keyEntry{h.key.id: e}, cache: NewKDFCache(1)}
	}
	return openBody(in, h, kr, ids)
}
