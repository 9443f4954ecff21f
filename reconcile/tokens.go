package reconcile

import (
	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/state"
)

// tokenOps plans the API tokens the file declares by name, scope and hash.
// A token's last use is run-time status: a reload keeps it.
var tokenOps = kindOps[state.TokenSpec, state.Token]{
	label: "token", kind: state.KindToken,
	name: func(s state.TokenSpec) string { return s.Name },
	spec: func(r state.Token) state.TokenSpec { return r.TokenSpec },
	meta: func(r state.Token) state.Meta { return r.Meta },
	build: func(m state.Meta, s state.TokenSpec, old *state.Token) state.Token {
		t := state.Token{Meta: m, TokenSpec: s}
		if old != nil && old.Hash == s.Hash {
			// The same secret: its use so far stays on record. A new
			// hash is a new secret, which has not been used yet.
			t.LastUsedAt, t.LastUsedFrom = old.LastUsedAt, old.LastUsedFrom
		}
		return t
	},
}

// desiredTokens converts the file's (validated) tokens into specs.
func desiredTokens(in []config.Token) []state.TokenSpec {
	out := make([]state.TokenSpec, 0, len(in))
	for _, t := range in {
		exp, _ := t.Expiry() // validated by config.Parse
		out = append(out, state.TokenSpec{Name: t.Name, Scope: state.Scope(t.Scope), Hash: t.Hash, ExpiresAt: exp})
	}
	return out
}
