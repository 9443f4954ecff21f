package crypt

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"filippo.io/age"
)

// KeySize is the size of raw keyring keys and of the per-object data key.
const KeySize = 32

const maxKeyIDLen = 255

// keyEntry is one keyring key: either 32 raw bytes or a passphrase.
type keyEntry struct {
	raw        []byte // KeySize bytes, nil for a passphrase
	passphrase []byte // nil for a raw key
}

// Keyring holds the encryption keys by id, the id new objects are sealed
// with, and an optional age recovery recipient. Its String method never
// prints key material. A Keyring is immutable and safe for concurrent use.
type Keyring struct {
	active    string
	keys      map[string]keyEntry
	recipient age.Recipient
	kdf       argon2Params // parameters for new passphrase stanzas
	cache     *KDFCache    // Argon2id outputs of passphrase keys
}

// NewKeyring builds a keyring. Each value of keys is either the standard
// base64 encoding of 32 bytes (a raw key, as printed by GenerateKey) or any
// other non-empty string, used as a passphrase and stretched with Argon2id.
// active names the key new objects are sealed with; it may be "" for a
// keyring that only decrypts. recoveryRecipient is "" or an age recipient
// ("age1…" X25519 or "age1pq1…" hybrid) every new object is also sealed to.
// Errors never contain key material.
//
// The keyring stretches each passphrase with Argon2id once per key salt and
// keeps the result in a KDFCache of its own (FORMAT.md §3.5); use
// NewKeyringCached to share one among keyrings rebuilt from a configuration.
func NewKeyring(active string, keys map[string]string, recoveryRecipient string) (*Keyring, error) {
	return NewKeyringCached(active, keys, recoveryRecipient, nil)
}

// NewKeyringCached is NewKeyring with the KDFCache the keyring's passphrase
// keys use (nil: a new one). Keyrings sharing a cache seal with the same key
// salt per passphrase, so a rebuilt keyring costs no Argon2id.
func NewKeyringCached(active string, keys map[string]string, recoveryRecipient string, cache *KDFCache) (*Keyring, error) {
	if cache == nil {
		cache = NewKDFCache(DefaultKDFCacheSize)
	}
	kr := &Keyring{active: active, keys: make(map[string]keyEntry, len(keys)), kdf: defaultArgon2Params(), cache: cache}
	for id, v := range keys {
		if err := validKeyID(id); err != nil {
			return nil, err
		}
		e, err := parseKeyValue(v)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", id, err)
		}
		kr.keys[id] = e
	}
	if active != "" && !kr.Has(active) {
		return nil, fmt.Errorf("active key %q is not in the keyring", active)
	}
	if recoveryRecipient != "" {
		r, err := parseRecipient(recoveryRecipient)
		if err != nil {
			return nil, err
		}
		kr.recipient = r
	}
	return kr, nil
}

func parseKeyValue(v string) (keyEntry, error) {
	if v == "" {
		return keyEntry{}, errors.New("empty key")
	}
	if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v)); err == nil && len(b) == KeySize {
		return keyEntry{raw: b}, nil
	}
	return keyEntry{passphrase: []byte(v)}, nil
}

func validKeyID(id string) error {
	if id == "" || len(id) > maxKeyIDLen {
		return fmt.Errorf("key id must be 1 to %d bytes", maxKeyIDLen)
	}
	if !utf8.ValidString(id) || strings.IndexFunc(id, unicode.IsControl) >= 0 {
		return fmt.Errorf("key id %q must be printable UTF-8", id)
	}
	return nil
}

func parseRecipient(s string) (age.Recipient, error) {
	s = strings.TrimSpace(s)
	var (
		r   age.Recipient
		err error
	)
	switch {
	case strings.HasPrefix(s, "age1pq1"):
		r, err = age.ParseHybridRecipient(s)
	case strings.HasPrefix(s, "age1"):
		r, err = age.ParseX25519Recipient(s)
	default:
		return nil, errors.New("recovery recipient must be an age recipient (age1...)")
	}
	if err != nil {
		return nil, fmt.Errorf("parse recovery recipient: %w", err)
	}
	return r, nil
}

// Prepare stretches the active key, if it is a passphrase, into the
// keyring's KDFCache now (one Argon2id, the first time for that cache),
// so that the first object sealed afterwards costs none. A daemon calls it
// when its configuration is applied, before any backup holds buffers.
func (k *Keyring) Prepare() error {
	e, ok := k.keys[k.active]
	if !ok || e.passphrase == nil {
		return nil
	}
	_, _, err := k.cache.writerKey(e.passphrase, k.kdf)
	return err
}

// Active returns the id new objects are sealed with ("" if none).
func (k *Keyring) Active() string { return k.active }

// Has reports whether the keyring holds the key id.
func (k *Keyring) Has(id string) bool {
	_, ok := k.keys[id]
	return ok
}

// HasRecovery reports whether new objects are also sealed to a recovery recipient.
func (k *Keyring) HasRecovery() bool { return k.recipient != nil }

// String describes the keyring without key material.
func (k Keyring) String() string {
	return fmt.Sprintf("Keyring{active: %q, keys: %d, recovery: %t}", k.active, len(k.keys), k.recipient != nil)
}

// GoString keeps %#v from printing key material.
func (k Keyring) GoString() string { return k.String() }

// String keeps a key entry from printing its material.
func (e keyEntry) String() string { return "<redacted " + e.kind() + ">" }

// GoString keeps %#v from printing key material.
func (e keyEntry) GoString() string { return e.String() }

// GenerateKey returns a new raw key: the standard base64 encoding of 32
// random bytes.
func GenerateKey() (string, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}
