package api

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// authenticateToken finds the live API token whose secret the request
// carries. Unknown (or revoked), expired and malformed tokens are 401, with
// the same message, so that the answer tells a guesser nothing. Use is
// written at most every s.bumpEvery, as for sessions.
func (s *server) authenticateToken(r *http.Request, secret string) (authInfo, error) {
	h := state.TokenHash(secret)
	var t state.Token
	err := s.store.View(func(tx *state.Tx) (err error) {
		t, err = tx.TokenByHash(h)
		return err
	})
	if errors.Is(err, state.ErrNotFound) {
		return authInfo{}, errUnauthorized
	}
	if err != nil {
		return authInfo{}, fmt.Errorf("read token: %w", err)
	}
	now := s.now()
	if t.Expired(now) || !t.Scope.Valid() {
		return authInfo{}, errUnauthorized
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= s.bumpEvery {
		s.touchToken(t.ID, now, s.clientAddr(r))
	}
	a := authInfo{user: "token:" + t.Name, scope: t.Scope, tokenID: t.ID}
	if t.ExpiresAt != nil {
		a.expires = *t.ExpiresAt
	}
	return a, nil
}

// touchToken records a use of a token. As with sessions, a failure does
// not fail the request (a full disk refuses writes, reads go on).
func (s *server) touchToken(id string, now time.Time, from string) {
	err := s.store.Update(func(tx *state.Tx) error { return tx.TouchToken(id, now, from) })
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		s.log.Debug("record token use", "token_id", id, "err", err)
	}
}

// permit checks an authenticated caller against the route: a session may
// do everything the API offers; an API token what its scope allows, and
// nothing that needs a session.
func (o routeOpts) permit(a authInfo) error {
	if a.tokenID == "" {
		return nil // a session
	}
	if o.session {
		return fault.Forbidden("this request needs a session (log in with the admin password); API tokens cannot make it")
	}
	need := o.scope
	if need == "" {
		need = state.ScopeAdmin // a route nobody gave a scope: fail closed (TestEveryRouteHasAScope catches it)
	}
	if !a.scope.Allows(need) {
		return fault.Forbidden(fmt.Sprintf("this token has scope %q; this request needs scope %q", a.scope, need))
	}
	return nil
}

// metricsAllowed reports whether a scrape may read /metrics when a metrics
// token is set: the request carries that token, or an API token of scope
// read or higher (in the Authorization header).
func (s *server) metricsAllowed(r *http.Request, want string) bool {
	tok, viaCookie := tokenFrom(r)
	if subtle.ConstantTimeCompare([]byte(tok), []byte(want)) == 1 {
		return true
	}
	if viaCookie || !state.IsTokenSecret(tok) {
		return false
	}
	a, err := s.authenticateToken(r, tok)
	if err != nil {
		if _, ok := fault.As(err); !ok {
			s.log.Error("metrics: check token", "err", err)
		}
		return false
	}
	return a.scope.Allows(state.ScopeRead)
}

// metricsRoute serves GET /metrics through the route table; serveMetrics
// (health.go) checks the metrics token or an API token itself, since
// without a metrics token the endpoint is public.
func (s *server) metricsRoute(r *http.Request, p httprouter.Params) (any, error) {
	return streamer(func(w http.ResponseWriter) error {
		s.serveMetrics(w, r, p)
		return nil
	}), nil
}
