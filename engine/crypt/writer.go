package crypt

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// writer seals plaintext into chunks. It holds one chunk: a full chunk is
// sealed only once more data arrives, since the final chunk carries the
// last-flag.
type writer struct {
	dst     io.Writer
	aead    cipher.AEAD
	nonce   [12]byte
	counter uint32
	buf     []byte // chunkSize+tagSize; plaintext in buf[:n], sealed in place
	n       int
	err     error // sticky
	closed  bool
}

var errClosed = errors.New("crypt: write to closed writer")

// NewWriter writes a .jgd header for kr's active key (and recovery recipient,
// if any) to dst and returns a writer that seals what is written to it.
// Close writes the final chunk and must be called; it does not close dst.
// A passphrase key costs one Argon2id derivation the first time kr's
// KDFCache seals with it (FORMAT.md §3.5), none after.
func NewWriter(dst io.Writer, kr *Keyring) (io.WriteCloser, error) {
	if kr == nil || kr.active == "" {
		return nil, errors.New("crypt: keyring has no active key")
	}
	h, dataKey, err := newHeader(kr)
	if err != nil {
		return nil, err
	}
	w := &writer{
		dst:  dst,
		aead: newGCM(payloadKey(dataKey, h.salt, h.raw)),
		buf:  make([]byte, chunkSize+tagSize),
	}
	copy(w.nonce[:prefixSize], h.noncePrefix)
	if _, err := dst.Write(h.raw); err != nil {
		return nil, fmt.Errorf("write header: %w", err)
	}
	return w, nil
}

// newHeader draws a data key, salt and nonce prefix and builds the header.
func newHeader(kr *Keyring) (*header, []byte, error) {
	random := make([]byte, KeySize+saltSize+prefixSize+saltSize)
	if _, err := rand.Read(random); err != nil {
		return nil, nil, fmt.Errorf("crypt: random: %w", err)
	}
	dataKey := random[:KeySize]
	h := &header{
		salt:        random[KeySize : KeySize+saltSize],
		noncePrefix: random[KeySize+saltSize : KeySize+saltSize+prefixSize],
	}
	e := kr.keys[kr.active]
	h.key = keyStanza{typ: stanzaKey, id: kr.active, salt: random[KeySize+saltSize+prefixSize:]}
	if e.passphrase != nil {
		keySalt, _, err := kr.cache.writerKey(e.passphrase, kr.kdf)
		if err != nil {
			return nil, nil, err
		}
		h.key.typ, h.key.keySalt, h.key.params = stanzaPassphrase2, keySalt, kr.kdf
	}
	wrapDataKey(e, &h.key, dataKey, kr.cache)
	if kr.recipient != nil {
		a, err := ageWrap(kr.recipient, dataKey)
		if err != nil {
			return nil, nil, err
		}
		h.age = a
	}
	body := h.marshalBody()
	h.raw = append(body, headerMAC(dataKey, h.salt, body)...)
	return h, dataKey, nil
}

func (w *writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, errClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	total := 0
	for len(p) > 0 {
		if w.n == chunkSize {
			if err := w.seal(false); err != nil {
				return total, err
			}
		}
		c := copy(w.buf[w.n:chunkSize], p)
		w.n += c
		total += c
		p = p[c:]
	}
	return total, nil
}

// Close seals and writes the final chunk. It does not close dst.
func (w *writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	return w.seal(true)
}

// seal encrypts buf[:n] as chunk number counter and writes it.
func (w *writer) seal(last bool) error {
	if !last && w.counter == math.MaxUint32 {
		w.err = errors.New("crypt: object exceeds the maximum of 2^32 chunks")
		return w.err
	}
	binary.BigEndian.PutUint32(w.nonce[prefixSize:], w.counter)
	w.nonce[11] = 0
	if last {
		w.nonce[11] = 1
	}
	out := w.aead.Seal(w.buf[:0], w.nonce[:], w.buf[:w.n], nil)
	if _, err := w.dst.Write(out); err != nil {
		w.err = fmt.Errorf("write chunk %d: %w", w.counter, err)
		return w.err
	}
	w.counter++
	w.n = 0
	return nil
}
