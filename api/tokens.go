package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/state"
)

const wordToken = "token"

// tokens follow the ownership rules of the other named kinds: a token that
// jagad.yaml declares cannot be deleted here (409), nor can its name be
// taken. No schedule uses a token.
var tokens = owned[state.Token]{
	word: wordToken,
	meta: func(t *state.Token) *state.Meta { return &t.Meta },
	name: func(t state.Token) string { return t.Name },
	uses: func(state.Schedule, state.Token) bool { return false },
}

// tokenView is a token as GET /api/tokens shows it: never the secret
// (which is not stored) nor its hash.
type tokenView struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Scope        state.Scope     `json:"scope"`
	CreatedAt    time.Time       `json:"created_at"`
	ExpiresAt    *time.Time      `json:"expires_at"`
	LastUsedAt   *time.Time      `json:"last_used_at"`
	LastUsedFrom string          `json:"last_used_from"`
	ManagedBy    state.ManagedBy `json:"managed_by"`
}

func viewToken(t state.Token) tokenView {
	return tokenView{ID: t.ID, Name: t.Name, Scope: t.Scope, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt,
		LastUsedAt: t.LastUsedAt, LastUsedFrom: t.LastUsedFrom, ManagedBy: t.ManagedBy}
}

// createdToken is the answer to POST /api/tokens: the only time the secret
// is shown.
type createdToken struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Scope     state.Scope     `json:"scope"`
	Token     string          `json:"token"`
	CreatedAt time.Time       `json:"created_at"`
	ExpiresAt *time.Time      `json:"expires_at"`
	ManagedBy state.ManagedBy `json:"managed_by"`
}

type tokenInput struct {
	Name      string     `json:"name"`
	Scope     string     `json:"scope"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// createToken is POST /api/tokens: a new API-made token with a new secret.
// The name and scope are checked by the validator jagad.yaml's tokens use.
func (s *server) createToken(r *http.Request, _ httprouter.Params) (any, error) {
	var in tokenInput
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	secret, hash, err := state.NewTokenSecret()
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	spec := config.Token{Name: in.Name, Scope: in.Scope, Hash: hash}
	if in.ExpiresAt != nil {
		spec.ExpiresAt = in.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	if err := fieldErrors(config.ValidateToken(spec), nil); err != nil {
		return nil, err
	}
	var exp *time.Time
	if in.ExpiresAt != nil {
		if !in.ExpiresAt.After(now) {
			return nil, fieldErr("expires_at", "must be in the future")
		}
		e := in.ExpiresAt.UTC().Truncate(time.Second) // as jagad.yaml writes it
		exp = &e
	}
	t := state.Token{Meta: apiMeta(state.KindToken, now),
		TokenSpec: state.TokenSpec{Name: in.Name, Scope: state.Scope(in.Scope), Hash: hash, ExpiresAt: exp}}
	if err := tokens.create(s, &t, nil); err != nil {
		return nil, err
	}
	s.log.Info("api token created", "token", t.Name, "id", t.ID, "scope", string(t.Scope), "by", authOf(r).user)
	return created(createdToken{ID: t.ID, Name: t.Name, Scope: t.Scope, Token: secret, CreatedAt: t.CreatedAt,
		ExpiresAt: t.ExpiresAt, ManagedBy: t.ManagedBy}), nil
}

// listTokens is GET /api/tokens: every token, oldest first, without secrets.
func (s *server) listTokens(_ *http.Request, _ httprouter.Params) (any, error) {
	var all []state.Token
	err := s.store.View(func(tx *state.Tx) (err error) {
		all, err = state.List[state.Token](tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out := make([]tokenView, 0, len(all))
	for _, t := range all {
		out = append(out, viewToken(t))
	}
	return out, nil
}

// deleteToken is DELETE /api/tokens/:id: the token stops working at once.
// A token jagad.yaml declares is revoked by removing it from the file (409).
func (s *server) deleteToken(r *http.Request, p httprouter.Params) (any, error) {
	id := p.ByName("id")
	var name string
	err := tokens.remove(s, id, func(_ *state.Tx, t state.Token) error { name = t.Name; return nil })
	if err != nil {
		return nil, err
	}
	s.log.Info("api token revoked", "token", name, "id", id, "by", authOf(r).user)
	return noContent, nil
}

// exportTokens lists the API-made tokens as jagad.yaml declares them: by
// name, scope and hash. The hash is no secret (the secret has 256 random
// bits and is not stored); a token moved into the file keeps working, as
// the file adopts the API-made record of its name.
func exportTokens(tx *state.Tx) ([]config.Token, error) {
	all, err := state.List[state.Token](tx)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	var out []config.Token
	for _, t := range all {
		if t.ManagedBy != state.ManagedByAPI {
			continue
		}
		ct := config.Token{Name: t.Name, Scope: string(t.Scope), Hash: t.Hash}
		if t.ExpiresAt != nil {
			ct.ExpiresAt = t.ExpiresAt.UTC().Format(time.RFC3339)
		}
		out = append(out, ct)
	}
	return out, nil
}
