package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

const (
	sessionCookie = "session"
	// hostCookie is the cookie's name over HTTPS: browsers keep a __Host-
	// cookie only if it is Secure, has Path=/ and no Domain, so neither a
	// plain-HTTP page nor a sibling subdomain can plant or overwrite it.
	hostCookie  = "__Host-" + sessionCookie
	sessionTTL  = 24 * time.Hour // fixed from login, not sliding
	minPassword = 6
	// DefaultSessionIdle ends a session unused this long (Deps.SessionIdleTimeout).
	DefaultSessionIdle = 8 * time.Hour
)

type authKey struct{}

// authInfo is the authenticated session or API token of a request.
type authInfo struct {
	user      string
	tokenHash string // of a session
	expires   time.Time
	viaCookie bool
	scope     state.Scope // a session is admin
	tokenID   string      // an API token's ID; "" for a session
}

var errUnauthorized = fault.Unauthorized("unauthorized")

func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// tokenFrom reads the session token or API token: the Authorization header
// ("<token>" or "Bearer <token>") wins over the session cookie, which is
// read under both its names (__Host-session over HTTPS, session otherwise).
func tokenFrom(r *http.Request) (tok string, viaCookie bool) {
	if h := strings.TrimSpace(r.Header.Get("Authorization")); h != "" {
		if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			h = strings.TrimSpace(h[7:])
		}
		return h, false
	}
	for _, name := range []string{hostCookie, sessionCookie} {
		if c, err := r.Cookie(name); err == nil && c.Value != "" {
			return c.Value, true
		}
	}
	return "", false
}

// authenticate finds the request's live session. A session unused for the
// idle timeout is deleted and refused. Use extends it, but last-seen is
// written only when it is older than s.bumpEvery, not on every request.
func (s *server) authenticate(r *http.Request) (authInfo, error) {
	tok, viaCookie := tokenFrom(r)
	if tok == "" {
		return authInfo{}, errUnauthorized
	}
	if !viaCookie && state.IsTokenSecret(tok) {
		return s.authenticateToken(r, tok) // tokens_auth.go
	}
	h := hashToken(tok)
	var sess state.Session
	err := s.store.View(func(tx *state.Tx) error {
		var err error
		sess, err = tx.Session(h)
		return err
	})
	now := s.now()
	if errors.Is(err, state.ErrNotFound) || (err == nil && !now.Before(sess.ExpiresAt)) {
		return authInfo{}, errUnauthorized
	}
	if err != nil {
		return authInfo{}, fmt.Errorf("read session: %w", err)
	}
	last := sess.LastSeenAt
	if last.IsZero() {
		last = sess.CreatedAt
	}
	if !now.Before(last.Add(s.idle)) {
		err := s.store.Update(func(tx *state.Tx) error { return tx.DeleteSession(h) })
		if err != nil && !errors.Is(err, state.ErrNotFound) {
			return authInfo{}, fmt.Errorf("delete idle session: %w", err)
		}
		s.log.Info("session ended after idle timeout", "user", sess.User, "idle_timeout", s.idle.String())
		return authInfo{}, errUnauthorized
	}
	if now.Sub(last) >= s.bumpEvery {
		s.touchSession(h, now)
	}
	return authInfo{user: sess.User, tokenHash: h, expires: sess.ExpiresAt, viaCookie: viaCookie, scope: state.ScopeAdmin}, nil
}

// touchSession records use of a session. A failure does not fail the
// request (reads must keep working while the store refuses writes, e.g.
// on a full disk); the next request tries again.
func (s *server) touchSession(h string, now time.Time) {
	err := s.store.Update(func(tx *state.Tx) error {
		cur, err := tx.Session(h)
		if err != nil || !cur.LastSeenAt.Before(now) {
			return err
		}
		cur.LastSeenAt = now
		return tx.PutSession(cur)
	})
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		s.log.Debug("record session use", "err", err)
	}
}

func authOf(r *http.Request) authInfo {
	a, _ := r.Context().Value(authKey{}).(authInfo)
	return a
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginResponse struct {
	Token string `json:"token"`
	User  string `json:"user"`
}

func (s *server) login(r *http.Request, _ httprouter.Params) (any, error) {
	var in loginRequest
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	if in.Username == "" || in.Password == "" {
		return nil, fault.Invalid("username and password are required")
	}
	addr, now := s.clientAddr(r), s.now()
	if wait := s.limiter.wait(in.Username, addr, now); wait > 0 {
		return nil, fault.TooManyRequests("too many failed logins; try again later", wait)
	}
	ok, err := s.verifyAdmin(in.Username, in.Password)
	if err != nil {
		return nil, err
	}
	if !ok {
		s.limiter.fail(in.Username, addr, now)
		// The name is not logged: people type passwords into it by mistake.
		s.log.Warn("failed login", "client", addr)
		return nil, fault.Unauthorized("invalid credentials")
	}
	s.limiter.succeed(in.Username, addr)
	tok, err := randomToken(32)
	if err != nil {
		return nil, err
	}
	sess := state.Session{TokenHash: hashToken(tok), User: in.Username, CreatedAt: now, ExpiresAt: now.Add(sessionTTL)}
	if err := s.store.Update(func(tx *state.Tx) error { return tx.PutSession(sess) }); err != nil {
		return nil, fmt.Errorf("store session: %w", err)
	}
	return s.withCookie(r, loginResponse{Token: tok, User: in.Username}, tok, int(sessionTTL/time.Second)), nil
}

// verifyAdmin checks user and password; it always pays for one hash so a
// wrong user name answers as slowly as a wrong password.
func (s *server) verifyAdmin(user, pass string) (bool, error) {
	var admin state.AdminUser
	err := s.store.View(func(tx *state.Tx) error {
		var err error
		admin, err = tx.Admin()
		return err
	})
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		return false, fmt.Errorf("read admin account: %w", err)
	}
	hash := admin.PasswordHash
	if hash == "" {
		hash = dummyHash
	}
	okPass, err := checkPassword(hash, pass)
	if err != nil {
		return false, err
	}
	okUser := subtle.ConstantTimeCompare([]byte(user), []byte(admin.Username)) == 1
	return okPass && okUser && admin.PasswordHash != "", nil
}

// dummyHash is checked when no admin exists, to keep timing uniform.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// withCookie sets (maxAge > 0) or clears (maxAge < 0) the session cookie.
// Over HTTPS (Jagad serves TLS itself, or a trusted proxy says the client
// used HTTPS) the cookie is Secure and named __Host-session; a cookie the
// request still carries under the other name is cleared.
//
// SameSite is Lax, not Strict: writes are guarded by CrossOriginProtection
// (see crossOrigin), which also refuses same-site sibling origins that
// neither mode stops; Lax adds that no browser sends the cookie on a
// cross-site POST at all, while Strict would also drop it when someone
// follows a link to Jagad from mail or chat, to no gain, since GETs change
// nothing and a cross-site page cannot read their answers.
func (s *server) withCookie(r *http.Request, body any, tok string, maxAge int) streamer {
	secure := s.tls || s.viaHTTPSProxy(r)
	name, other := sessionCookie, hostCookie
	if secure {
		name, other = hostCookie, sessionCookie
	}
	return func(w http.ResponseWriter) error {
		http.SetCookie(w, &http.Cookie{
			Name: name, Value: tok, Path: "/", MaxAge: maxAge,
			HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
		})
		if _, err := r.Cookie(other); err == nil && (secure || other == sessionCookie) {
			http.SetCookie(w, &http.Cookie{Name: other, Path: "/", MaxAge: -1,
				HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
		}
		writeJSON(w, http.StatusOK, body)
		return nil
	}
}

type successResponse struct {
	Success bool `json:"success"`
}

// logout ends the caller's session, if any, and clears the cookie.
func (s *server) logout(r *http.Request, _ httprouter.Params) (any, error) {
	if tok, _ := tokenFrom(r); tok != "" {
		err := s.store.Update(func(tx *state.Tx) error { return tx.DeleteSession(hashToken(tok)) })
		if err != nil && !errors.Is(err, state.ErrNotFound) {
			return nil, fmt.Errorf("delete session: %w", err)
		}
	}
	return s.withCookie(r, successResponse{Success: true}, "", -1), nil
}

// checkResponse is GET /api/auth/check: who the caller is. For an API
// token, user is "token:<name>", and expires is left out when it never does.
type checkResponse struct {
	User    string      `json:"user"`
	Expires time.Time   `json:"expires,omitzero"`
	Scope   state.Scope `json:"scope"`
}

func (s *server) check(r *http.Request, _ httprouter.Params) (any, error) {
	a := authOf(r)
	return checkResponse{User: a.user, Expires: a.expires.UTC(), Scope: a.scope}, nil
}

type passwordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// changePassword needs a session (routes.go: an API token is refused); it
// logs every session out.
func (s *server) changePassword(r *http.Request, _ httprouter.Params) (any, error) {
	var in passwordRequest
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	a, addr, now := authOf(r), s.clientAddr(r), s.now()
	if wait := s.limiter.wait(a.user, addr, now); wait > 0 {
		return nil, fault.TooManyRequests("too many failed password checks; try again later", wait)
	}
	ok, err := s.verifyAdmin(a.user, in.CurrentPassword)
	if err != nil {
		return nil, err
	}
	if !ok {
		s.limiter.fail(a.user, addr, now)
		return nil, fault.Invalid("current password is incorrect")
	}
	if len(in.NewPassword) < minPassword {
		return nil, fault.Invalid(fmt.Sprintf("new password must be at least %d characters", minPassword))
	}
	hash, err := hashPassword(in.NewPassword)
	if err != nil {
		return nil, err
	}
	err = s.store.Update(func(tx *state.Tx) error {
		if err := tx.PutAdmin(state.AdminUser{Username: a.user, PasswordHash: hash, ChangedAt: now}); err != nil {
			return err
		}
		return tx.DeleteAllSessions()
	})
	if err != nil {
		return nil, fmt.Errorf("change password: %w", err)
	}
	s.log.Info("admin password changed; all sessions logged out", "user", a.user)
	return s.withCookie(r, successResponse{Success: true}, "", -1), nil
}
