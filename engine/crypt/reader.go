package crypt

import (
	"crypto/cipher"
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
)

// reader opens chunks one at a time. It reads one byte past each full
// chunk to learn whether that chunk must be the final one.
type reader struct {
	src     io.Reader
	aead    cipher.AEAD
	nonce   [12]byte
	counter uint32
	ct      []byte // chunkSize+tagSize+1: a chunk plus one byte of look-ahead
	pt      []byte // chunkSize
	plain   []byte // unread plaintext of the current chunk
	peek    byte
	hasPeek bool
	done    bool  // final chunk verified, src at EOF
	err     error // sticky
}

// NewReader reads and verifies the header of a .jgd object from src and
// returns a reader of its plaintext. The data key is unwrapped with kr's key
// for the id the header names or, failing that, with one of ids through the
// recovery stanza; kr may be nil when identities are given. Read returns
// io.EOF only after the final chunk verified and src has no trailing bytes;
// any other error means the plaintext read so far must not be trusted.
func NewReader(src io.Reader, kr *Keyring, ids ...age.Identity) (io.Reader, error) {
	h, err := readHeader(src)
	if err != nil {
		return nil, err
	}
	return openBody(src, h, kr, ids)
}

// openBody unwraps the data key for a parsed header, checks the header MAC
// and returns the chunk reader.
func openBody(src io.Reader, h *header, kr *Keyring, ids []age.Identity) (io.Reader, error) {
	dataKey, err := unwrapHeader(h, kr, ids)
	if err != nil {
		return nil, err
	}
	body := h.raw[:len(h.raw)-macSize]
	if !hmac.Equal(headerMAC(dataKey, h.salt, body), h.raw[len(body):]) {
		return nil, fmt.Errorf("header MAC mismatch: %w", ErrCorrupt)
	}
	r := &reader{
		src:  src,
		aead: newGCM(payloadKey(dataKey, h.salt, h.raw)),
		ct:   make([]byte, chunkSize+tagSize+1),
		pt:   make([]byte, chunkSize),
	}
	copy(r.nonce[:prefixSize], h.noncePrefix)
	return r, nil
}

// unwrapHeader finds the data key: keyring first, then recovery identities.
func unwrapHeader(h *header, kr *Keyring, ids []age.Identity) ([]byte, error) {
	if kr == nil && len(ids) == 0 {
		return nil, errors.New("crypt: no keyring and no recovery identity")
	}
	var keyErr error
	if kr != nil {
		if e, ok := kr.keys[h.key.id]; ok {
			dk, err := unwrapDataKey(e, &h.key, kr.cache)
			if err == nil {
				return dk, nil
			}
			keyErr = err
		}
	}
	if len(ids) > 0 && h.age != nil {
		dk, err := ageUnwrap(h.age, ids)
		if err == nil || keyErr == nil {
			return dk, err
		}
		return nil, keyErr // both failed: report the keyring's wrong key
	}
	if keyErr != nil {
		return nil, keyErr
	}
	return nil, &UnknownKeyError{ID: h.key.id}
}

func (r *reader) Read(p []byte) (int, error) {
	for len(r.plain) == 0 {
		switch {
		case r.done:
			return 0, io.EOF
		case r.err != nil:
			return 0, r.err
		case len(p) == 0:
			return 0, nil
		}
		r.err = r.next()
	}
	n := copy(p, r.plain)
	r.plain = r.plain[n:]
	return n, nil
}

// next reads and opens the next chunk into r.plain.
func (r *reader) next() error {
	n := 0
	if r.hasPeek {
		r.ct[0] = r.peek
		n, r.hasPeek = 1, false
	}
	m, err := io.ReadFull(r.src, r.ct[n:])
	n += m
	switch {
	case err == nil: // a full chunk and at least one more byte: not final
		r.peek, r.hasPeek = r.ct[chunkSize+tagSize], true
		return r.openChunk(r.ct[:chunkSize+tagSize], false)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return r.openChunk(r.ct[:n], true)
	default:
		return fmt.Errorf("read chunk %d: %w", r.counter, err)
	}
}

// openChunk authenticates chunk r.counter. On failure it tries the other
// last-flag to tell truncation and trailing data from plain corruption.
func (r *reader) openChunk(ct []byte, last bool) error {
	if len(ct) < tagSize {
		if len(ct) == 0 && r.counter > 0 {
			return fmt.Errorf("no final chunk after chunk %d: %w", r.counter-1, ErrTruncated)
		}
		return fmt.Errorf("chunk %d is %d bytes: %w", r.counter, len(ct), ErrTruncated)
	}
	pt, err := r.aead.Open(r.pt[:0], r.setNonce(last), ct, nil)
	if err != nil {
		if _, err2 := r.aead.Open(r.pt[:0], r.setNonce(!last), ct, nil); err2 == nil {
			if last {
				return fmt.Errorf("object ends after non-final chunk %d: %w", r.counter, ErrTruncated)
			}
			return fmt.Errorf("data after final chunk %d: %w", r.counter, ErrCorrupt)
		}
		return fmt.Errorf("chunk %d failed authentication: %w", r.counter, ErrCorrupt)
	}
	if last && len(pt) == 0 && r.counter > 0 {
		return fmt.Errorf("empty final chunk %d: %w", r.counter, ErrCorrupt)
	}
	if !last && r.counter == ^uint32(0) {
		return fmt.Errorf("chunk counter overflow: %w", ErrCorrupt)
	}
	r.plain = pt
	r.counter++
	r.done = last
	return nil
}

func (r *reader) setNonce(last bool) []byte {
	binary.BigEndian.PutUint32(r.nonce[prefixSize:], r.counter)
	r.nonce[11] = 0
	if last {
		r.nonce[11] = 1
	}
	return r.nonce[:]
}
