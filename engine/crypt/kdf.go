package crypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
)

// HKDF info strings (FORMAT.md §4).
const (
	infoWrap    = "jagad key wrap v1"
	infoWrap2   = "jagad key wrap v2" // type 0x04 stanzas (FORMAT.md §3.5)
	infoMAC     = "jagad header mac v1"
	infoPayload = "jagad payload v1"
)

// argon2Params are the Argon2id parameters of a passphrase stanza.
type argon2Params struct {
	time      uint32
	memoryKiB uint32
	threads   uint8
}

// Defaults for new passphrase stanzas: t=3, m=64 MiB, p=2.
func defaultArgon2Params() argon2Params {
	return argon2Params{time: 3, memoryKiB: 64 * 1024, threads: 2}
}

// Bounds a reader accepts, so a hostile header cannot demand unbounded
// memory or time.
const (
	maxArgon2Time    = 16
	maxArgon2MemKiB  = 1 << 20 // 1 GiB
	maxArgon2Threads = 16
)

func (p argon2Params) validate() error {
	if p.time < 1 || p.time > maxArgon2Time || p.threads < 1 || p.threads > maxArgon2Threads ||
		p.memoryKiB < 8*uint32(p.threads) || p.memoryKiB > maxArgon2MemKiB {
		return fmt.Errorf("%w: argon2id parameters t=%d m=%dKiB p=%d out of range",
			ErrUnsupported, p.time, p.memoryKiB, p.threads)
	}
	return nil
}

// hkdfKey derives a 32-byte key with HKDF-SHA-256.
func hkdfKey(secret, salt []byte, info string) []byte {
	k, err := hkdf.Key(sha256.New, secret, salt, info, KeySize)
	if err != nil { // only possible for an invalid length
		panic("crypt: hkdf: " + err.Error())
	}
	return k
}

// newGCM returns AES-256-GCM keyed with a 32-byte key.
func newGCM(key []byte) cipher.AEAD {
	b, err := aes.NewCipher(key)
	if err != nil { // only possible for an invalid key length
		panic("crypt: aes: " + err.Error())
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		panic("crypt: gcm: " + err.Error())
	}
	return a
}

// kek derives the key-encryption key of a keyring stanza. Passphrase
// stanzas take their Argon2id output from cache (nil: derive every time).
func kek(e keyEntry, s *keyStanza, cache *KDFCache) []byte {
	switch s.typ {
	case stanzaPassphrase: // Argon2id per object (FORMAT.md §3.2)
		return hkdfKey(cache.key(e.passphrase, s.salt, s.params), s.salt, infoWrap)
	case stanzaPassphrase2: // Argon2id per key salt (FORMAT.md §3.5)
		return hkdfKey(cache.key(e.passphrase, s.keySalt, s.params), s.salt, infoWrap2)
	}
	return hkdfKey(e.raw, s.salt, infoWrap)
}

// wrapAAD binds a wrapped key to its stanza type and key id.
func wrapAAD(s *keyStanza) []byte {
	return append([]byte{s.typ}, s.id...)
}

func wrapDataKey(e keyEntry, s *keyStanza, dataKey []byte, cache *KDFCache) {
	var nonce [12]byte // all zero: each KEK comes from a fresh stanza salt and seals once
	s.wrapped = newGCM(kek(e, s, cache)).Seal(nil, nonce[:], dataKey, wrapAAD(s))
}

// unwrapDataKey opens a keyring stanza. A key of the wrong kind (raw key for a
// passphrase stanza or the reverse) is a wrong key.
func unwrapDataKey(e keyEntry, s *keyStanza, cache *KDFCache) ([]byte, error) {
	if isPassphrase(s.typ) != (e.passphrase != nil) {
		return nil, fmt.Errorf("key %q is a %s but the object was sealed with a %s: %w",
			s.id, e.kind(), kindOf(s.typ), ErrWrongKey)
	}
	var nonce [12]byte
	dk, err := newGCM(kek(e, s, cache)).Open(nil, nonce[:], s.wrapped, wrapAAD(s))
	if err != nil {
		return nil, fmt.Errorf("unwrap data key with key %q: %w", s.id, ErrWrongKey)
	}
	return dk, nil
}

func (e keyEntry) kind() string {
	if e.passphrase != nil {
		return "passphrase"
	}
	return "raw key"
}

func kindOf(typ byte) string {
	if isPassphrase(typ) {
		return "passphrase"
	}
	return "raw key"
}

// ageWrap encrypts the data key to an age recipient, returning the age file.
func ageWrap(r age.Recipient, dataKey []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		return nil, fmt.Errorf("age encrypt: %w", err)
	}
	if _, err := w.Write(dataKey); err != nil {
		return nil, fmt.Errorf("age encrypt: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("age encrypt: %w", err)
	}
	if buf.Len() > maxStanzaLen {
		return nil, fmt.Errorf("age recovery stanza is %d bytes, more than %d", buf.Len(), maxStanzaLen)
	}
	return buf.Bytes(), nil
}

// ageUnwrap decrypts the data key from an age stanza.
func ageUnwrap(body []byte, ids []age.Identity) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(body), ids...)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return nil, fmt.Errorf("no recovery identity matches: %w", ErrWrongKey)
		}
		return nil, fmt.Errorf("recovery stanza: %v: %w", err, ErrCorrupt)
	}
	dk, err := io.ReadAll(io.LimitReader(r, KeySize+1))
	if err != nil || len(dk) != KeySize {
		return nil, fmt.Errorf("recovery stanza does not hold a %d-byte key: %w", KeySize, ErrCorrupt)
	}
	return dk, nil
}

// headerMAC computes the header MAC over b with the data key.
func headerMAC(dataKey, salt, b []byte) []byte {
	m := hmac.New(sha256.New, hkdfKey(dataKey, salt, infoMAC))
	m.Write(b)
	return m.Sum(nil)
}

// payloadKey derives the chunk key, bound to the whole header (MAC included).
func payloadKey(dataKey, salt, rawHeader []byte) []byte {
	h := sha256.Sum256(rawHeader)
	return hkdfKey(dataKey, salt, infoPayload+string(h[:]))
}
