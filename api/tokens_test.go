package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jagad/jagad/state"
)

// wantScopes is who may call each route: "public", a token scope, or
// "session" (no API token at all). A route missing here fails
// TestEveryRouteHasAScope, so every new route gets a scope on purpose.
var wantScopes = map[string]string{
	"POST /api/auth/login":                        "public",
	"POST /api/auth/logout":                       "public",
	"GET /api/auth/check":                         "read",
	"PUT /api/auth/password":                      "session",
	"GET /api/health":                             "public",
	"GET /livez":                                  "public",
	"GET /readyz":                                 "public",
	"GET /metrics":                                "public", // or the metrics token, or a read token: TestMetricsAcceptsReadTokens
	"GET /api/connections":                        "read",
	"POST /api/connections":                       "admin",
	"GET /api/connections/:id":                    "read",
	"PUT /api/connections/:id":                    "admin",
	"DELETE /api/connections/:id":                 "admin",
	"POST /api/connections/:id/test":              "operate",
	"GET /api/connections/:id/databases":          "read",
	"POST /api/connections/:id/discover":          "operate",
	"PUT /api/connections/:id/:dbid":              "admin",
	"POST /api/connections/:id/archive/verify":    "operate",
	"GET /api/backups":                            "read",
	"POST /api/backups":                           "operate",
	"GET /api/backups/:id":                        "read",
	"DELETE /api/backups/:id":                     "admin",
	"GET /api/backups/:id/logs":                   "read",
	"GET /api/backups/:id/download":               "operate",
	"POST /api/backups/:id/verify":                "operate",
	"POST /api/backups/:id/restore":               "operate",
	"POST /api/backups/:id/copies":                "operate",
	"GET /api/events":                             "read",
	"GET /api/restores":                           "read",
	"GET /api/restores/:id":                       "read",
	"GET /api/schedules":                          "read",
	"POST /api/schedules":                         "admin",
	"GET /api/schedules/:id":                      "read",
	"PUT /api/schedules/:id":                      "admin",
	"DELETE /api/schedules/:id":                   "admin",
	"POST /api/schedules/:id/run":                 "operate",
	"GET /api/storage-providers":                  "read",
	"POST /api/storage-providers":                 "admin",
	"GET /api/storage-providers/:id":              "read",
	"PUT /api/storage-providers/:id":              "admin",
	"DELETE /api/storage-providers/:id":           "admin",
	"POST /api/storage-providers/:id/test":        "operate",
	"POST /api/storage-providers/:id/set-default": "admin",
	"GET /api/notifications":                      "read",
	"POST /api/notifications":                     "admin",
	"GET /api/notifications/:id":                  "read",
	"PUT /api/notifications/:id":                  "admin",
	"DELETE /api/notifications/:id":               "admin",
	"POST /api/notifications/:id/test":            "operate",
	"GET /api/settings":                           "read",
	"PUT /api/settings":                           "admin",
	"GET /api/config/status":                      "read",
	"POST /api/config/plan":                       "read",
	"POST /api/config/reload":                     "admin",
	"GET /api/config/export":                      "read",
	"GET /api/tokens":                             "admin",
	"POST /api/tokens":                            "admin",
	"DELETE /api/tokens/:id":                      "admin",
}

func routeClass(o routeOpts) string {
	switch {
	case o.public:
		return "public"
	case o.session:
		return "session"
	}
	return string(o.scope) // "" when a route was given none
}

// TestEveryRouteHasAScope is the table test over the router: every route
// it registers has the scope wantScopes gives it, and wantScopes names no
// route that does not exist.
func TestEveryRouteHasAScope(t *testing.T) {
	s := &server{}
	seen := map[string]bool{}
	for _, r := range s.routeTable() {
		key := r.method + " " + r.path
		seen[key] = true
		want, ok := wantScopes[key]
		if !ok {
			t.Errorf("route %s has no entry in wantScopes: decide which token scope it needs (read, operate, admin)", key)
			continue
		}
		if got := routeClass(r.opts); got != want {
			t.Errorf("route %s: scope %q, want %q", key, got, want)
		}
		if !r.opts.public && !state.Scope(r.opts.scope).Valid() {
			t.Errorf("route %s needs authentication but has no token scope", key)
		}
	}
	for key := range wantScopes {
		if !seen[key] {
			t.Errorf("wantScopes names %s, which is not a route", key)
		}
	}
}

// TestPermitFailsClosed: a route that somehow has no scope needs admin.
func TestPermitFailsClosed(t *testing.T) {
	for _, sc := range []state.Scope{state.ScopeRead, state.ScopeOperate} {
		if err := (routeOpts{}).permit(authInfo{tokenID: "tok_x", scope: sc}); err == nil {
			t.Errorf("a %s token passed a route without a scope", sc)
		}
	}
	if err := (routeOpts{}).permit(authInfo{tokenID: "tok_x", scope: state.ScopeAdmin}); err != nil {
		t.Errorf("admin on a route without a scope: %v", err)
	}
	if err := (routeOpts{session: true, scope: state.ScopeAdmin}).permit(authInfo{scope: state.ScopeAdmin}); err != nil {
		t.Errorf("a session on a session route: %v", err)
	}
}

// tokenClock is a settable clock for Deps.Now.
type tokenClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *tokenClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *tokenClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// tokenEnv is an API whose event streams end at once (Done is closed), on a
// settable clock, with a metrics handler behind the metrics token "mt-1".
func tokenEnv(t *testing.T) (*env, *tokenClock) {
	t.Helper()
	clk := &tokenClock{t: time.Now().UTC()}
	done := make(chan struct{})
	close(done)
	e := newEnv(t, func(d *Deps) {
		d.Now = clk.Now
		d.Done = done
		d.Metrics = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("jagad_up 1\n")) })
		d.MetricsToken = func() string { return "mt-1" }
	})
	return e, clk
}

// newToken creates a token through the API with the env's session.
func newToken(t *testing.T, e *env, name, scope string, extra map[string]any) createdToken {
	t.Helper()
	body := map[string]any{"name": name, "scope": scope}
	for k, v := range extra {
		body[k] = v
	}
	w := e.call("POST", "/api/tokens", body, http.StatusCreated)
	var out createdToken
	mustJSON(t, w, &out)
	return out
}

// pathOf fills a route pattern's parameters.
func pathOf(pattern string) string {
	p := strings.ReplaceAll(pattern, ":dbid", "db_nope")
	return strings.ReplaceAll(p, ":id", "x_nope")
}

// TestScopesAgainstRoutes sends every route a request with a read, an
// operate and an admin token: a scope below the route's is 403, one at or
// above it passes authorization (whatever the handler then answers).
func TestScopesAgainstRoutes(t *testing.T) {
	e, _ := tokenEnv(t)
	secrets := map[state.Scope]string{}
	for _, sc := range state.Scopes {
		secrets[sc] = newToken(t, e, "t-"+string(sc), string(sc), nil).Token
	}
	s := &server{}
	for _, r := range s.routeTable() {
		if r.opts.public {
			continue
		}
		for _, sc := range state.Scopes {
			var body any
			if r.method != "GET" && r.method != "DELETE" {
				body = map[string]any{}
			}
			w := e.send(req{method: r.method, path: pathOf(r.path), body: body, token: secrets[sc]})
			need := r.opts.scope
			if need == "" {
				need = state.ScopeAdmin // permit fails closed
			}
			allowed := !r.opts.session && sc.Allows(need)
			switch {
			case allowed && (w.Code == http.StatusForbidden || w.Code == http.StatusUnauthorized):
				t.Errorf("%s %s with a %s token: %d %s, want it let through", r.method, r.path, sc, w.Code, w.Body.String())
			case !allowed && w.Code != http.StatusForbidden:
				t.Errorf("%s %s with a %s token: %d %s, want 403", r.method, r.path, sc, w.Code, w.Body.String())
			case !allowed && !strings.Contains(errMsg(t, w), "scope") && !r.opts.session:
				t.Errorf("%s %s: 403 without naming the scope: %s", r.method, r.path, w.Body.String())
			}
		}
	}
	// The session (admin) still reaches a route of every class.
	for _, path := range []string{"/api/tokens", "/api/connections", "/api/config/export"} {
		e.call("GET", path, nil, http.StatusOK)
	}
}

// TestTokenForms: "Bearer jgd_…" (any case of Bearer) and the bare
// "jgd_…" both authenticate; the session cookie keeps working.
func TestTokenForms(t *testing.T) {
	e, _ := tokenEnv(t)
	tok := newToken(t, e, "ci", "operate", nil).Token
	for _, h := range []string{"Bearer " + tok, "bearer " + tok, tok, "  " + tok + " "} {
		w := e.send(req{method: "GET", path: "/api/auth/check", noAuth: true, header: map[string]string{"Authorization": h}})
		var c map[string]any
		mustJSON(t, w, &c)
		if w.Code != http.StatusOK || c["user"] != "token:ci" || c["scope"] != "operate" {
			t.Errorf("Authorization %q: %d %v", strings.Replace(h, tok, "<token>", 1), w.Code, c)
		}
		if _, ok := c["expires"]; ok {
			t.Errorf("a token without expiry shows expires: %v", c)
		}
	}
	w := e.send(req{method: "GET", path: "/api/auth/check", cookie: true})
	var c map[string]any
	mustJSON(t, w, &c)
	if w.Code != http.StatusOK || c["user"] != testUser || c["scope"] != "admin" || c["expires"] == nil {
		t.Errorf("session cookie: %d %v", w.Code, c)
	}
	// A token in the cookie is no session.
	if w := e.send(req{method: "GET", path: "/api/auth/check", cookie: true, token: tok}); w.Code != http.StatusUnauthorized {
		t.Errorf("a token in the session cookie: %d, want 401", w.Code)
	}
}

// TestTokenLifecycle: the create and list contracts, last use, revocation,
// expiry and the ownership rules of file-declared tokens.
func TestTokenLifecycle(t *testing.T) {
	e, clk := tokenEnv(t)
	exp := clk.Now().Add(48 * time.Hour).Truncate(time.Second)
	w := e.call("POST", "/api/tokens", map[string]any{"name": "ci", "scope": "read", "expires_at": exp.Format(time.RFC3339)}, http.StatusCreated)
	var raw map[string]any
	mustJSON(t, w, &raw)
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range raw {
			if !yield(k) {
				return
			}
		}
	})
	if want := []string{"created_at", "expires_at", "id", "managed_by", "name", "scope", "token"}; !slices.Equal(keys, want) {
		t.Fatalf("create answered keys %v, want %v", keys, want)
	}
	var ct createdToken
	mustJSON(t, w, &ct)
	if !strings.HasPrefix(ct.Token, "jgd_") || len(ct.Token) != 4+43 || !strings.HasPrefix(ct.ID, "tok_") || ct.Scope != "read" ||
		ct.ManagedBy != state.ManagedByAPI || ct.ExpiresAt == nil || !ct.ExpiresAt.Equal(exp) {
		t.Fatalf("created: %+v", ct)
	}

	// Used from an address: last use recorded.
	clk.Add(time.Minute)
	if w := e.send(req{method: "GET", path: "/api/connections", token: ct.Token, remote: "198.51.100.4:5555"}); w.Code != http.StatusOK {
		t.Fatalf("read with the token: %d %s", w.Code, w.Body.String())
	}
	w = e.call("GET", "/api/tokens", nil, http.StatusOK)
	var list []map[string]any
	mustJSON(t, w, &list)
	if len(list) != 1 {
		t.Fatalf("list: %v", list)
	}
	got := list[0]
	if want := []string{"created_at", "expires_at", "id", "last_used_at", "last_used_from", "managed_by", "name", "scope"}; !slices.Equal(sortedKeys(got), want) {
		t.Fatalf("list keys %v, want %v", sortedKeys(got), want)
	}
	if got["id"] != ct.ID || got["last_used_from"] != "198.51.100.4" || got["last_used_at"] == nil {
		t.Fatalf("listed: %v", got)
	}

	// Validation and names.
	for _, tc := range []struct {
		body map[string]any
		want int
		msg  string
	}{
		{map[string]any{"name": "ci", "scope": "read"}, http.StatusConflict, `a token named "ci" already exists`},
		{map[string]any{"name": "x", "scope": "root"}, http.StatusBadRequest, `"scope"`},
		{map[string]any{"name": "", "scope": "read"}, http.StatusBadRequest, `"name"`},
		{map[string]any{"name": "x", "scope": "read", "expires_at": clk.Now().Add(-time.Hour).Format(time.RFC3339)}, http.StatusBadRequest, "must be in the future"},
		{map[string]any{"name": "x", "scope": "read", "hash": "sha256:00"}, http.StatusBadRequest, "hash"},
	} {
		w := e.send(req{method: "POST", path: "/api/tokens", body: tc.body})
		if w.Code != tc.want || !strings.Contains(errMsg(t, w), tc.msg) {
			t.Errorf("POST %v: %d %s, want %d with %q", tc.body, w.Code, w.Body.String(), tc.want, tc.msg)
		}
	}

	// Expired: 401 from the expiry on.
	clk.Add(48 * time.Hour)
	if w := e.send(req{method: "GET", path: "/api/connections", token: ct.Token}); w.Code != http.StatusUnauthorized {
		t.Fatalf("expired token: %d, want 401", w.Code)
	}

	// Revoked: 204, then 401 everywhere, and a second delete is 404.
	e.token = e.login(testUser, testPass, "192.0.2.1:1234") // the session ended on the way
	op := newToken(t, e, "ops", "operate", nil)
	if w := e.send(req{method: "GET", path: "/api/connections", token: op.Token}); w.Code != http.StatusOK {
		t.Fatalf("operate token: %d", w.Code)
	}
	e.call("DELETE", "/api/tokens/"+op.ID, nil, http.StatusNoContent)
	for _, path := range []string{"/api/connections", "/api/auth/check"} {
		if w := e.send(req{method: "GET", path: path, token: op.Token}); w.Code != http.StatusUnauthorized {
			t.Errorf("revoked token on %s: %d, want 401", path, w.Code)
		}
	}
	if w := e.send(req{method: "POST", path: "/api/backups", token: op.Token, body: map[string]any{}}); w.Code != http.StatusUnauthorized {
		t.Errorf("revoked token on an operate route: %d, want 401", w.Code)
	}
	e.call("DELETE", "/api/tokens/"+op.ID, nil, http.StatusNotFound)
	if w := e.send(req{method: "GET", path: "/api/connections", token: "jgd_" + strings.Repeat("A", 43)}); w.Code != http.StatusUnauthorized {
		t.Errorf("unknown token: %d, want 401", w.Code)
	}
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestFileTokenIsReadOnlyViaAPI: a token jagad.yaml declares authenticates
// with its scope, cannot be deleted through the API, nor its name taken.
func TestFileTokenIsReadOnlyViaAPI(t *testing.T) {
	e, clk := tokenEnv(t)
	secret, hash, err := state.NewTokenSecret()
	if err != nil {
		t.Fatal(err)
	}
	ft := state.Token{Meta: state.Meta{ID: state.DerivedID(state.KindToken, "ci-plan"), ManagedBy: state.ManagedByFile, CreatedAt: clk.Now()},
		TokenSpec: state.TokenSpec{Name: "ci-plan", Scope: state.ScopeRead, Hash: hash}}
	put(t, e.store, ft)
	if w := e.send(req{method: "POST", path: "/api/config/plan", token: secret, body: "version: 1\n",
		header: map[string]string{"Content-Type": "application/yaml"}}); w.Code != http.StatusOK {
		t.Fatalf("plan with the file token: %d %s", w.Code, w.Body.String())
	}
	if w := e.send(req{method: "POST", path: "/api/config/reload", token: secret}); w.Code != http.StatusForbidden {
		t.Fatalf("reload with a read file token: %d, want 403", w.Code)
	}
	w := e.send(req{method: "DELETE", path: "/api/tokens/" + ft.ID})
	if w.Code != http.StatusConflict || errMsg(t, w) != `token "ci-plan" is managed by jagad.yaml; change it there` {
		t.Fatalf("delete of a file token: %d %s", w.Code, w.Body.String())
	}
	w = e.send(req{method: "POST", path: "/api/tokens", body: map[string]any{"name": "ci-plan", "scope": "admin"}})
	if w.Code != http.StatusConflict || !strings.Contains(errMsg(t, w), "managed by jagad.yaml") {
		t.Fatalf("create with a file token's name: %d %s", w.Code, w.Body.String())
	}
	var list []tokenView
	mustJSON(t, e.call("GET", "/api/tokens", nil, http.StatusOK), &list)
	if len(list) != 1 || list[0].ManagedBy != state.ManagedByFile || list[0].LastUsedAt == nil {
		t.Fatalf("list: %+v", list)
	}
	// Still there and still working.
	if w := e.send(req{method: "GET", path: "/api/settings", token: secret}); w.Code != http.StatusOK {
		t.Fatalf("file token after the refused delete: %d", w.Code)
	}
}

// TestMetricsAcceptsReadTokens: with a metrics token set, /metrics takes
// that token or any live API token (every scope includes read), not a
// revoked one and not nothing.
func TestMetricsAcceptsReadTokens(t *testing.T) {
	e, _ := tokenEnv(t)
	read := newToken(t, e, "prom", "read", nil)
	admin := newToken(t, e, "adm", "admin", nil)
	gone := newToken(t, e, "gone", "read", nil)
	e.call("DELETE", "/api/tokens/"+gone.ID, nil, http.StatusNoContent)
	for _, tc := range []struct {
		auth string
		want int
	}{
		{"Bearer mt-1", http.StatusOK},
		{"Bearer " + read.Token, http.StatusOK},
		{read.Token, http.StatusOK},
		{"Bearer " + admin.Token, http.StatusOK},
		{"Bearer " + gone.Token, http.StatusUnauthorized},
		{"Bearer jgd_nope", http.StatusUnauthorized},
		{"", http.StatusUnauthorized},
	} {
		h := map[string]string{}
		if tc.auth != "" {
			h["Authorization"] = tc.auth
		}
		w := e.send(req{method: "GET", path: "/metrics", noAuth: true, header: h})
		if w.Code != tc.want || (tc.want == http.StatusOK && !strings.Contains(w.Body.String(), "jagad_up 1")) {
			t.Errorf("/metrics with %q: %d %s, want %d", redactAuth(tc.auth), w.Code, w.Body.String(), tc.want)
		}
	}
}

func redactAuth(s string) string {
	if i := strings.Index(s, "jgd_"); i >= 0 {
		return s[:i] + "jgd_…"
	}
	return s
}

// TestTokenNeedsNoCSRFCheck: like any Authorization header, a token is not
// something a browser attaches on its own, so a cross-site write with one
// passes the cross-origin check; the same write with the cookie does not.
func TestTokenNeedsNoCSRFCheck(t *testing.T) {
	e, _ := tokenEnv(t)
	tok := newToken(t, e, "ci-admin", "admin", nil).Token
	cross := map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
	if w := e.send(req{method: "POST", path: "/api/tokens", token: tok, header: cross,
		body: map[string]any{"name": "made-by-ci", "scope": "read"}}); w.Code != http.StatusCreated {
		t.Fatalf("cross-site write with a token: %d %s", w.Code, w.Body.String())
	}
	// As README's `curl -d` sends it: a form Content-Type on a JSON body.
	if w := e.send(req{method: "POST", path: "/api/tokens", token: tok, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		body: `{"name":"ci","scope":"read","expires_at":"2027-01-01T00:00:00Z"}`}); w.Code != http.StatusCreated {
		t.Fatalf("README's curl: %d %s", w.Code, w.Body.String())
	}
	if w := e.send(req{method: "POST", path: "/api/tokens", cookie: true, header: cross,
		body: map[string]any{"name": "forged", "scope": "admin"}}); w.Code != http.StatusForbidden {
		t.Fatalf("cross-site write with the cookie: %d, want 403", w.Code)
	}
}

// TestTokenSecretNeverLeaks: the secret appears in its create response
// and nowhere else: not in lists, exports, error messages or the log (nor
// does the hash reach the log).
func TestTokenSecretNeverLeaks(t *testing.T) {
	e, clk := tokenEnv(t)
	created := e.call("POST", "/api/tokens", map[string]any{"name": "ci", "scope": "read"}, http.StatusCreated)
	var ct createdToken
	mustJSON(t, created, &ct)
	secret, hash := ct.Token, state.TokenHash(ct.Token)
	bodies := map[string]*httptest.ResponseRecorder{}
	send := func(name string, r req) {
		bodies[name] = e.send(r)
	}
	send("list", req{method: "GET", path: "/api/tokens"})
	send("check", req{method: "GET", path: "/api/auth/check", token: secret})
	send("forbidden", req{method: "POST", path: "/api/config/reload", token: secret})
	send("forbidden-bare", req{method: "DELETE", path: "/api/tokens/" + ct.ID, noAuth: true, header: map[string]string{"Authorization": secret}})
	send("password", req{method: "PUT", path: "/api/auth/password", token: secret, body: map[string]string{"current_password": secret, "new_password": secret}})
	send("secret-as-name", req{method: "POST", path: "/api/tokens", body: `{"name":"` + secret + `","scope":"read"}`})
	send("bad-json", req{method: "POST", path: "/api/tokens", body: `{"name":"` + secret + `","scope":"read",}`})
	send("bad-name", req{method: "POST", path: "/api/tokens", body: map[string]any{"name": secret + "/x", "scope": "read"}})
	send("export", req{method: "GET", path: "/api/config/export"})
	clk.Add(time.Hour)
	e.call("DELETE", "/api/tokens/"+ct.ID, nil, http.StatusNoContent)
	send("revoked", req{method: "GET", path: "/api/connections", token: secret})
	send("revoked-metrics", req{method: "GET", path: "/metrics", token: secret})

	if bodies["secret-as-name"].Code != http.StatusBadRequest || bodies["bad-json"].Code != http.StatusBadRequest ||
		bodies["bad-name"].Code != http.StatusBadRequest {
		t.Fatalf("statuses: secret as a name %d, bad JSON %d, bad name %d", bodies["secret-as-name"].Code,
			bodies["bad-json"].Code, bodies["bad-name"].Code)
	}
	if bodies["forbidden"].Code != http.StatusForbidden || bodies["password"].Code != http.StatusForbidden ||
		bodies["revoked"].Code != http.StatusUnauthorized || bodies["revoked-metrics"].Code != http.StatusUnauthorized {
		t.Fatalf("statuses: forbidden %d, password %d, revoked %d, metrics %d", bodies["forbidden"].Code,
			bodies["password"].Code, bodies["revoked"].Code, bodies["revoked-metrics"].Code)
	}
	for name, w := range bodies {
		if strings.Contains(w.Body.String(), secret) {
			t.Errorf("%s: the secret is in the response: %s", name, w.Body.String())
		}
		for k, vs := range w.Header() {
			for _, v := range vs {
				if strings.Contains(v, secret) {
					t.Errorf("%s: the secret is in header %s", name, k)
				}
			}
		}
	}
	var exp map[string]any
	if !strings.Contains(bodies["export"].Body.String(), "tokens:") || !strings.Contains(bodies["export"].Body.String(), hash) {
		t.Errorf("export should declare the API token by its hash: %s", bodies["export"].Body.String())
	}
	_ = json.Unmarshal(bodies["list"].Body.Bytes(), &exp)
	if strings.Contains(bodies["list"].Body.String(), strings.TrimPrefix(hash, "sha256:")) {
		t.Errorf("the list shows the hash: %s", bodies["list"].Body.String())
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "api token created") || !strings.Contains(logs, "api token revoked") {
		t.Fatalf("the log should record create and revoke:\n%s", logs)
	}
	for _, s := range []string{secret, strings.TrimPrefix(secret, "jgd_"), strings.TrimPrefix(hash, "sha256:")} {
		if strings.Contains(logs, s) {
			t.Fatalf("the log holds the token secret or its hash:\n%s", logs)
		}
	}
}
