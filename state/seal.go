package state

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// ErrUnseal means a sealed secret could not be decrypted: the master key is
// not the one it was sealed with, or the record is corrupt.
var ErrUnseal = errors.New("cannot decrypt secret: wrong master key or corrupted record")

// sealedPrefix marks a sealed secret: "enc1:" + base64(nonce || ciphertext).
const sealedPrefix = "enc1:"

// masterKeySize is the AES-256 key size.
const masterKeySize = 32

// sealer seals and unseals Secret fields with AES-256-GCM. The record key is
// the additional data, so a sealed value cannot be moved to another record.
type sealer struct {
	aead cipher.AEAD

	mu    sync.Mutex
	types map[reflect.Type]bool // does the type reach a Secret?
}

func newSealer(key []byte) (*sealer, error) {
	if len(key) != masterKeySize {
		return nil, fmt.Errorf("master key must be %d bytes, got %d", masterKeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return &sealer{aead: aead, types: map[reflect.Type]bool{}}, nil
}

// seal encrypts plain with aad (the record key). Empty stays empty, so an
// unset secret is still recognisably unset.
func (s *sealer) seal(aad, plain string) (string, error) {
	if plain == "" {
		return "", nil
	}
	ns := s.aead.NonceSize()
	buf := make([]byte, ns, ns+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("seal: nonce: %w", err)
	}
	buf = s.aead.Seal(buf, buf[:ns], []byte(plain), []byte(aad))
	return sealedPrefix + base64.StdEncoding.EncodeToString(buf), nil
}

// unseal reverses seal. Errors never include the value.
func (s *sealer) unseal(aad, sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	enc, ok := strings.CutPrefix(sealed, sealedPrefix)
	if !ok {
		return "", fmt.Errorf("secret is not sealed: %w", ErrUnseal)
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	ns := s.aead.NonceSize()
	if err != nil || len(raw) < ns+s.aead.Overhead() {
		return "", fmt.Errorf("malformed sealed secret: %w", ErrUnseal)
	}
	plain, err := s.aead.Open(nil, raw[:ns], raw[ns:], []byte(aad))
	if err != nil {
		return "", ErrUnseal
	}
	return string(plain), nil
}

// sealFields returns a copy of v with every Secret sealed. The caller's
// value, including anything it points to, is left untouched.
func (s *sealer) sealFields(aad string, v any) (any, error) {
	rv := reflect.ValueOf(v)
	if !s.hasSecret(rv.Type()) {
		return v, nil
	}
	cp := reflect.New(rv.Type()).Elem()
	cp.Set(rv)
	err := s.walk(cp, rv.Type().Name(), func(in string) (string, error) { return s.seal(aad, in) })
	if err != nil {
		return nil, err
	}
	return cp.Interface(), nil
}

// unsealFields unseals every Secret reachable from ptr in place.
func (s *sealer) unsealFields(aad string, ptr any) error {
	rv := reflect.ValueOf(ptr).Elem()
	if !s.hasSecret(rv.Type()) {
		return nil
	}
	return s.walk(rv, rv.Type().Name(), func(in string) (string, error) { return s.unseal(aad, in) })
}
