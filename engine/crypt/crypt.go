// Package crypt implements Jagad's encrypted object format (".jgd", version 1):
// a streaming AEAD in the style of Tink and age. A header carries the per-object
// data key wrapped by a keyring key (and optionally to an age recovery recipient)
// and is bound by an HMAC; the body is a sequence of AES-256-GCM chunks whose
// nonces carry a counter and a last-chunk flag, so truncation, reordering,
// duplication and trailing data are all detected. FORMAT.md specifies every byte.
package crypt

import (
	"errors"
	"fmt"
)

// Algo is the value stored in a backup's encryption_algo.
const Algo = "AES-256-GCM"

// Ext is the file-name extension of an encrypted object.
const Ext = ".jgd"

// Errors returned by the reader. ErrTruncated wraps ErrCorrupt, so
// errors.Is(err, ErrCorrupt) holds for every integrity failure of an object
// whose key was accepted.
var (
	// ErrFormat means the input is not a .jgd object (bad magic).
	ErrFormat = errors.New("not a jagad encrypted object")
	// ErrUnsupported means a .jgd object of a version, suite, chunk size,
	// flag or stanza type this code does not implement.
	ErrUnsupported = errors.New("unsupported jagad encrypted object")
	// ErrWrongKey means the key stanza could not be unwrapped with the key or
	// identity given: the key is wrong (or the stanza itself is damaged, which
	// cannot be told apart).
	ErrWrongKey = errors.New("wrong decryption key")
	// ErrCorrupt means the object failed authentication after its key was
	// accepted: header MAC mismatch, a damaged, reordered or duplicated chunk,
	// or data after the final chunk.
	ErrCorrupt = errors.New("corrupt encrypted object")
	// ErrTruncated means the object ends before its final chunk (or inside
	// its header). It wraps ErrCorrupt.
	ErrTruncated = fmt.Errorf("%w: truncated", ErrCorrupt)
)

// UnknownKeyError reports that an object names a key id the keyring does not
// hold (and no recovery identity could open it instead).
type UnknownKeyError struct {
	ID string
}

func (e *UnknownKeyError) Error() string {
	return fmt.Sprintf("encryption key id %q is not in the keyring", e.ID)
}
