package api

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/state"
)

func loginReq(user, pass, remote string) req {
	return req{method: "POST", path: "/api/auth/login", noAuth: true, remote: remote,
		body: map[string]string{"username": user, "password": pass}}
}

func TestLoginCookieAndCheck(t *testing.T) {
	e := newEnv(t, func(d *Deps) { d.TLS = true })
	w := e.send(loginReq(testUser, testPass, "192.0.2.9:1"))
	if w.Code != 200 {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	var lr loginResponse
	mustJSON(t, w, &lr)
	if len(lr.Token) != 64 || lr.User != testUser {
		t.Errorf("login response: %+v", lr)
	}
	c := w.Result().Cookies()
	if len(c) != 1 || c[0].Name != "__Host-session" || c[0].Value != lr.Token || !c[0].HttpOnly || !c[0].Secure ||
		c[0].SameSite != http.SameSiteLaxMode || c[0].Path != "/" || c[0].MaxAge != 86400 {
		t.Errorf("cookie: %+v", c)
	}
	// The store keeps only the token's hash.
	err := e.store.View(func(tx *state.Tx) error {
		if _, err := tx.Session(lr.Token); err == nil {
			return fmt.Errorf("session stored under the clear token")
		}
		_, err := tx.Session(hashToken(lr.Token))
		return err
	})
	if err != nil {
		t.Error(err)
	}
	for _, r := range []req{
		{token: lr.Token, cookie: true},
		{token: lr.Token},
		{header: map[string]string{"Authorization": lr.Token}, noAuth: true}, // raw token, as the reference
	} {
		r.method, r.path = "GET", "/api/auth/check"
		w := e.send(r)
		var cr checkResponse
		mustJSON(t, w, &cr)
		if w.Code != 200 || cr.User != testUser || time.Until(cr.Expires) < 23*time.Hour {
			t.Errorf("check %+v: %d %s", r, w.Code, w.Body)
		}
	}
	w = e.send(loginReq(testUser, "wrong", "192.0.2.9:1"))
	if w.Code != 401 || errMsg(t, w) != "invalid credentials" {
		t.Errorf("wrong password: %d %s", w.Code, w.Body)
	}
	w = e.send(loginReq("root", testPass, "192.0.2.9:1"))
	if w.Code != 401 {
		t.Errorf("wrong user: %d", w.Code)
	}
	// Logout ends the session and clears the cookie.
	w = e.send(req{method: "POST", path: "/api/auth/logout", token: lr.Token})
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"success":true`) || w.Result().Cookies()[0].MaxAge >= 0 {
		t.Errorf("logout: %d %s %v", w.Code, w.Body, w.Result().Cookies())
	}
	if w := e.send(req{method: "GET", path: "/api/auth/check", token: lr.Token}); w.Code != 401 {
		t.Errorf("check after logout: %d", w.Code)
	}
}

func TestBruteForceThrottled(t *testing.T) {
	e := newEnv(t)
	attacker := "203.0.113.7:4444"
	var throttled, refused int
	var retry string
	for i := 0; i < 100; i++ {
		w := e.send(loginReq(testUser, fmt.Sprintf("guess-%d", i), attacker))
		switch w.Code {
		case http.StatusTooManyRequests:
			throttled++
			retry = w.Header().Get("Retry-After")
		case http.StatusUnauthorized:
			refused++
		default:
			t.Fatalf("attempt %d: %d %s", i, w.Code, w.Body)
		}
	}
	if refused > addrLimit || throttled < 100-addrLimit {
		t.Errorf("401s %d, 429s %d: not throttled", refused, throttled)
	}
	if secs, err := strconv.Atoi(retry); err != nil || secs < 1 || secs > int(loginWindow/time.Second) {
		t.Errorf("Retry-After %q", retry)
	}
	// Even the right password is throttled from the attacking address...
	if w := e.send(loginReq(testUser, testPass, attacker)); w.Code != http.StatusTooManyRequests {
		t.Errorf("right password from attacker: %d", w.Code)
	}
	// ...but the admin from another address gets in.
	if w := e.send(loginReq(testUser, testPass, "198.51.100.2:5555")); w.Code != 200 {
		t.Errorf("right password from another address: %d %s", w.Code, w.Body)
	}
}

func TestDistributedGuessingDoesNotLockOutAdmin(t *testing.T) {
	e := newEnv(t)
	// Many addresses, a few guesses each: the per-user budget runs out.
	for a := 0; a < 30; a++ {
		for i := 0; i < 2; i++ {
			e.send(loginReq(testUser, "guess", fmt.Sprintf("203.0.113.%d:1", a)))
		}
	}
	if w := e.send(loginReq(testUser, "guess", "203.0.113.1:1")); w.Code != http.StatusTooManyRequests {
		t.Errorf("failing address after the user budget: %d", w.Code)
	}
	if w := e.send(loginReq(testUser, testPass, "198.51.100.2:1")); w.Code != 200 {
		t.Errorf("admin from a clean address: %d %s", w.Code, w.Body)
	}
}

func TestLimiterWindow(t *testing.T) {
	l := newLoginLimiter()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < pairLimit; i++ {
		if w := l.wait("u", "a", t0); w != 0 {
			t.Fatalf("attempt %d throttled", i)
		}
		l.fail("u", "a", t0.Add(time.Duration(i)*time.Second))
	}
	if w := l.wait("u", "a", t0.Add(10*time.Second)); w <= 0 || w > loginWindow {
		t.Errorf("wait after %d failures: %v", pairLimit, w)
	}
	if w := l.wait("other", "a", t0.Add(10*time.Second)); w != 0 {
		t.Errorf("other user from same address below address limit: %v", w)
	}
	if w := l.wait("u", "a", t0.Add(loginWindow+time.Second)); w != 0 {
		t.Errorf("still throttled after the window: %v", w)
	}
}

func TestSessionsSurviveRestartAndPasswordChange(t *testing.T) {
	e := newEnv(t)
	old := e.token
	e.restart(testPass)
	e.call("GET", "/api/auth/check", nil, 200) // survived the restart

	other := e.login(testUser, testPass, "192.0.2.5:1")
	w := e.send(req{method: "PUT", path: "/api/auth/password", body: map[string]string{
		"current_password": testPass, "new_password": "new-password-123"}})
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"success":true`) {
		t.Fatalf("change password: %d %s", w.Code, w.Body)
	}
	for _, tok := range []string{old, other} {
		if w := e.send(req{method: "GET", path: "/api/auth/check", token: tok}); w.Code != 401 {
			t.Errorf("old session still valid: %d", w.Code)
		}
	}
	// The changed password survives a restart and wins over the seed.
	e.restart(testPass)
	if w := e.send(loginReq(testUser, testPass, "192.0.2.6:1")); w.Code != 401 {
		t.Errorf("seed password accepted after change: %d", w.Code)
	}
	e.token = e.login(testUser, "new-password-123", "192.0.2.6:1")
	e.call("GET", "/api/auth/check", nil, 200)
}

func TestPasswordHash(t *testing.T) {
	h, err := hashPassword("s3cret!")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$`).MatchString(h) {
		t.Errorf("not a PHC argon2id string: %s", h)
	}
	for pw, want := range map[string]bool{"s3cret!": true, "s3cret": false, "": false} {
		if ok, err := checkPassword(h, pw); err != nil || ok != want {
			t.Errorf("check %q: %v %v", pw, ok, err)
		}
	}
	if ok, err := checkPassword(dummyHash, "x"); err != nil || ok {
		t.Errorf("dummy hash: %v %v", ok, err)
	}
	if _, err := checkPassword("$2a$10$bcrypt", "x"); err == nil {
		t.Error("non-argon2 hash accepted")
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	body := map[string]any{"name": "n", "db_type": "mysql", "host": "h", "username": "u"}
	cases := []struct {
		name   string
		r      req
		status int
	}{
		{"cookie form post from another site", req{cookie: true, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded",
			"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}}, 403},
		{"cookie text/plain from another site", req{cookie: true, header: map[string]string{"Content-Type": "text/plain",
			"Origin": "https://evil.example"}}, 403},
		{"cookie foreign origin", req{cookie: true, header: map[string]string{"Origin": "https://evil.example"}}, 403},
		// No Origin and no Sec-Fetch-Site: not a browser (every browser that
		// sends no Origin on a cross-site POST also drops the SameSite=Lax cookie).
		{"cookie text/plain from curl", req{cookie: true, header: map[string]string{"Content-Type": "text/plain"}}, 201},
		{"cookie same origin", req{cookie: true, header: map[string]string{"Origin": "http://example.com"}}, 201},
		{"cookie json", req{cookie: true}, 201},
		{"header token form type", req{header: map[string]string{"Content-Type": "text/plain"}}, 201},
	}
	for i, c := range cases {
		b := map[string]any{}
		for k, v := range body {
			b[k] = v
		}
		b["name"] = fmt.Sprintf("n%d", i)
		r := c.r
		r.method, r.path, r.body = "POST", "/api/connections", b
		if w := e.send(r); w.Code != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, w.Code, w.Body, c.status)
		}
	}
	// The plan endpoint takes YAML types from a cookie session.
	w := e.send(req{method: "POST", path: "/api/config/plan", cookie: true, body: "version: 1\n",
		header: map[string]string{"Content-Type": "application/yaml"}})
	if w.Code != 200 {
		t.Errorf("cookie plan: %d %s", w.Code, w.Body)
	}
}
