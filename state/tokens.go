package state

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Scope is what an API token may do. Each scope includes the ones below it:
// read < operate < admin.
type Scope string

// Token scopes.
const (
	// ScopeRead: GET routes, /api/events, POST /api/config/plan, /metrics.
	ScopeRead Scope = "read"
	// ScopeOperate: read, plus run, verify, restore, test and discover.
	ScopeOperate Scope = "operate"
	// ScopeAdmin: everything a session may do, except changing the password.
	ScopeAdmin Scope = "admin"
)

// Scopes lists the scopes from the least to the most powerful.
var Scopes = []Scope{ScopeRead, ScopeOperate, ScopeAdmin}

func (s Scope) rank() int {
	switch s {
	case ScopeRead:
		return 1
	case ScopeOperate:
		return 2
	case ScopeAdmin:
		return 3
	}
	return 0
}

// Valid reports whether s is a known scope.
func (s Scope) Valid() bool { return s.rank() > 0 }

// Allows reports whether a holder of s may do what needs need. An unknown
// scope allows nothing, and nothing is allowed by an unknown need.
func (s Scope) Allows(need Scope) bool {
	return s.rank() > 0 && need.rank() > 0 && s.rank() >= need.rank()
}

// TokenPrefix starts every API token secret ("jgd_…"), so that tools that
// scan for leaked credentials can recognise one, and so that the API tells
// a token from a session.
const TokenPrefix = "jgd_"

// TokenHashPrefix starts a token's stored hash: "sha256:<64 hex digits>".
const TokenHashPrefix = "sha256:"

// tokenSecretBytes is the entropy of a token: 256 bits.
const tokenSecretBytes = 32

// NewTokenSecret returns a new API token secret ("jgd_" + the unpadded
// base64url of 32 random bytes) and the hash to store for it. The secret is
// shown once and never stored: a secret of 256 random bits needs no slow
// password hash, SHA-256 is enough (as GitHub stores its tokens).
func NewTokenSecret() (secret, hash string, err error) {
	b := make([]byte, tokenSecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("new token: %w", err)
	}
	secret = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, TokenHash(secret), nil
}

// TokenHash returns the stored form of a token secret: "sha256:<hex>".
func TokenHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return TokenHashPrefix + hex.EncodeToString(sum[:])
}

// IsTokenSecret reports whether s looks like an API token secret (by its
// prefix; whether it is a valid one is up to the store).
func IsTokenSecret(s string) bool { return strings.HasPrefix(s, TokenPrefix) }

// Token is a named API token. Only the hash of its secret is stored.
type Token struct {
	Meta
	TokenSpec
	// LastUsedAt and LastUsedFrom record the last use (coarsely: the API
	// writes them at most once a minute per token). They are run-time
	// status, like a session's last-seen time, kept across reloads.
	LastUsedAt   *time.Time `json:"last_used_at"`
	LastUsedFrom string     `json:"last_used_from"`
}

// TokenSpec is the part of a token that jagad.yaml declares.
type TokenSpec struct {
	Name      string     `json:"name"`
	Scope     Scope      `json:"scope"`
	Hash      string     `json:"hash"`       // "sha256:<hex>" of the secret
	ExpiresAt *time.Time `json:"expires_at"` // nil: never
}

// Kind implements Record.
func (Token) Kind() Kind { return KindToken }

// Expired reports whether the token has expired at now.
func (t Token) Expired(now time.Time) bool {
	return t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)
}

// TokenByHash returns the token whose secret hashes to hash; ErrNotFound
// when none does. Tokens are few, so this reads them all.
func (tx *Tx) TokenByHash(hash string) (Token, error) {
	toks, err := List[Token](tx)
	if err != nil {
		return Token{}, err
	}
	for _, t := range toks {
		if t.Hash == hash {
			return t, nil
		}
	}
	return Token{}, fmt.Errorf("token: %w", ErrNotFound)
}

// TouchToken records a use of token id at at from the address from. It is
// a status write: it does not tell change-feed subscribers, since no spec
// changed. A missing token is ErrNotFound.
func (tx *Tx) TouchToken(id string, at time.Time, from string) error {
	if err := tx.check(true); err != nil {
		return err
	}
	if err := checkID("touch token", id); err != nil {
		return err
	}
	key := recordKey(KindToken, id)
	var t Token
	if err := tx.getValue(key, &t); err != nil {
		return err
	}
	at = at.UTC()
	t.LastUsedAt, t.LastUsedFrom = &at, from
	return tx.putValue(key, t, nil)
}
