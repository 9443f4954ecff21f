package state

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// idRandomBytes gives 20 hex characters after the prefix.
const idRandomBytes = 10

// NewID returns a new random ID with the kind's prefix (e.g. "bck_…"):
// the prefix and 20 random lowercase hex characters. It panics for a kind
// without a prefix, which is a programming error.
func NewID(k Kind) string {
	b := make([]byte, idRandomBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	return mustPrefix(k) + hex.EncodeToString(b)
}

// DerivedID returns the stable ID of a file-managed record: prefix + a hash of kind and name.
// The hash is the first 20 hex characters of sha256(kind + "\x00" + name).
func DerivedID(k Kind, name string) string {
	sum := sha256.Sum256([]byte(string(k) + "\x00" + name))
	return mustPrefix(k) + hex.EncodeToString(sum[:])[:2*idRandomBytes]
}

func mustPrefix(k Kind) string {
	p, ok := idPrefix[k]
	if !ok {
		panic(fmt.Sprintf("state: kind %q has no ID prefix", k))
	}
	return p
}

// checkID rejects IDs that would break the key layout.
func checkID(what, id string) error {
	if id == "" {
		return fmt.Errorf("%s: empty id", what)
	}
	if strings.ContainsAny(id, "/\x00") {
		return fmt.Errorf("%s: invalid id %q", what, id)
	}
	return nil
}
