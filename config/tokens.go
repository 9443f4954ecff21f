package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Token is an API token declared by the hash of its secret; the secret
// itself never belongs in the file (`jagad tokens create` prints both).
type Token struct {
	Name      string `yaml:"name"`
	Scope     string `yaml:"scope"`      // read | operate | admin
	Hash      string `yaml:"hash"`       // "sha256:<64 hex digits>" of the secret
	ExpiresAt string `yaml:"expires_at"` // RFC 3339; empty: never
}

// TokenScopes are the scopes a token may have, least powerful first.
var TokenScopes = []string{"read", "operate", "admin"}

var tokenHashRe = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// ValidateToken checks every field of t. Messages never quote the hash
// field's value: a careless operator may have pasted the secret there.
func ValidateToken(t Token) []FieldError {
	var errs fieldErrs
	errs.addErr("name", CheckName(t.Name))
	if strings.HasPrefix(t.Name, "jgd_") {
		errs.add("name", "must not start with jgd_ (token secrets do; a name is shown everywhere)")
	}
	if !oneOf(t.Scope, TokenScopes...) {
		errs.add("scope", "%s", enumError(t.Scope, TokenScopes...))
	}
	switch {
	case t.Hash == "":
		errs.add("hash", `is required ("sha256:" and the 64 hex digits jagad tokens create prints)`)
	case strings.HasPrefix(t.Hash, "jgd_"):
		errs.add("hash", "is a token secret, not its hash: put its sha256 hash here and keep the secret out of the file (and revoke it if it was committed)")
	case !tokenHashRe.MatchString(t.Hash):
		errs.add("hash", `must be a SHA-256 hash: "sha256:" and 64 lowercase hex digits`)
	}
	if _, err := t.Expiry(); err != nil {
		errs.addErr("expires_at", err)
	}
	return errs
}

// Expiry parses ExpiresAt; nil when the token does not expire.
func (t Token) Expiry() (*time.Time, error) {
	if t.ExpiresAt == "" {
		return nil, nil
	}
	at, err := time.Parse(time.RFC3339, t.ExpiresAt)
	if err != nil {
		return nil, fmt.Errorf("must be an RFC 3339 time such as 2027-01-01T00:00:00Z")
	}
	at = at.UTC()
	return &at, nil
}

// checkTokens validates the tokens, their unique names and unique hashes
// (two names for one secret would make its scope ambiguous).
func (c *checker) checkTokens() {
	name := func(t Token) string { return t.Name }
	checkNamed(c, "token", "tokens", c.file.Tokens, name, ValidateToken, nil)
	hashes := map[string]string{}
	for i, t := range c.file.Tokens {
		p := "tokens[" + strconv.Itoa(i) + "]"
		if !tokenHashRe.MatchString(t.Hash) || c.skip(p+".hash") {
			continue
		}
		if first, dup := hashes[t.Hash]; dup {
			_, lbl := label("token", "tokens", i, t.Name)
			c.errorAt(p+".hash", "%s: hash: the same hash as token %q (one secret, one token)", lbl, first)
			continue
		}
		hashes[t.Hash] = t.Name
	}
}
