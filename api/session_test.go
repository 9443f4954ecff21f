package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/jagad/jagad/state"
)

// testClock is a clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestSessionIdleTimeout: a session unused for the idle timeout (default
// 8 h) is refused and deleted, although its absolute 24 h have not passed;
// use keeps it alive.
func TestSessionIdleTimeout(t *testing.T) {
	start := time.Now()
	clock := &testClock{t: start}
	e := newEnv(t, func(d *Deps) { d.Now = clock.now })
	check := func(want int) {
		t.Helper()
		if w := e.send(req{method: "GET", path: "/api/auth/check", cookie: true}); w.Code != want {
			t.Fatalf("check at +%v: %d %s, want %d", clock.now().Sub(start), w.Code, w.Body, want)
		}
	}
	for range 3 { // 15 h in use, each gap under 8 h
		clock.advance(5 * time.Hour)
		check(http.StatusOK)
	}
	clock.advance(8*time.Hour + time.Second) // 23 h after login: idle, not expired
	check(http.StatusUnauthorized)
	err := e.store.View(func(tx *state.Tx) error { _, err := tx.Session(hashToken(e.token)); return err })
	if !errors.Is(err, state.ErrNotFound) {
		t.Errorf("idle session still stored: %v", err)
	}
}

// TestSessionIdleTimeoutSettingAndWrites: the timeout is configurable, and
// use is written to the store at most once a minute, not on every request.
func TestSessionIdleTimeoutSettingAndWrites(t *testing.T) {
	start := time.Now()
	clock := &testClock{t: start}
	e := newEnv(t, func(d *Deps) { d.Now = clock.now; d.SessionIdleTimeout = 30 * time.Minute })
	lastSeen := func() time.Time {
		t.Helper()
		var s state.Session
		if err := e.store.View(func(tx *state.Tx) (err error) { s, err = tx.Session(hashToken(e.token)); return }); err != nil {
			t.Fatalf("read session: %v", err)
		}
		return s.LastSeenAt
	}
	clock.advance(20 * time.Second)
	e.call("GET", "/api/auth/check", nil, http.StatusOK)
	if got := lastSeen(); !got.IsZero() {
		t.Errorf("last-seen written 20 s after login: %v", got)
	}
	clock.advance(time.Minute)
	e.call("GET", "/api/auth/check", nil, http.StatusOK)
	if got := lastSeen(); !got.Equal(clock.now()) {
		t.Errorf("last-seen %v after a minute of use, want %v", got, clock.now())
	}
	clock.advance(29 * time.Minute) // 29 min after last use: alive
	e.call("GET", "/api/auth/check", nil, http.StatusOK)
	clock.advance(30 * time.Minute)
	e.call("GET", "/api/auth/check", nil, http.StatusUnauthorized)
}

// TestHostCookieOverHTTPS: over HTTPS the cookie is __Host-session (Secure,
// Path=/, no Domain); both names authenticate; logout clears what it set.
func TestHostCookieOverHTTPS(t *testing.T) {
	proxy := netip.MustParsePrefix("10.0.0.0/8")
	e := newEnv(t, func(d *Deps) { d.TrustedProxies = []netip.Prefix{proxy} })
	for _, c := range []struct {
		name, remote, proto, want string
	}{
		{"plain HTTP", "192.0.2.10:1", "", sessionCookie},
		{"HTTPS at a trusted proxy", "10.1.2.3:1", "https", hostCookie},
		{"X-Forwarded-Proto from a peer that is not a proxy", "192.0.2.10:1", "https", sessionCookie},
	} {
		r := loginReq(testUser, testPass, c.remote)
		if c.proto != "" {
			r.header = map[string]string{"X-Forwarded-Proto": c.proto}
		}
		w := e.send(r)
		cs := w.Result().Cookies()
		if w.Code != http.StatusOK || len(cs) != 1 || cs[0].Name != c.want || cs[0].Secure != (c.want == hostCookie) ||
			cs[0].Path != "/" || cs[0].Domain != "" || cs[0].SameSite != http.SameSiteLaxMode {
			t.Errorf("%s: %d cookies %v, want one %s", c.name, w.Code, cs, c.want)
			continue
		}
		for _, name := range []string{sessionCookie, hostCookie} {
			hr := httptest.NewRequest("GET", "/api/auth/check", nil)
			hr.AddCookie(&http.Cookie{Name: name, Value: cs[0].Value})
			rw := httptest.NewRecorder()
			e.h.ServeHTTP(rw, hr)
			if rw.Code != http.StatusOK {
				t.Errorf("%s: cookie named %s: %d", c.name, name, rw.Code)
			}
		}
	}
	// Logging out over HTTPS with an old plain cookie clears both.
	hr := httptest.NewRequest("POST", "/api/auth/logout", nil)
	hr.RemoteAddr, hr.Header["X-Forwarded-Proto"] = "10.1.2.3:1", []string{"https"}
	hr.AddCookie(&http.Cookie{Name: sessionCookie, Value: "old"})
	rw := httptest.NewRecorder()
	e.h.ServeHTTP(rw, hr)
	got := map[string]int{}
	for _, c := range rw.Result().Cookies() {
		got[c.Name] = c.MaxAge
	}
	if rw.Code != http.StatusOK || len(got) != 2 || got[hostCookie] >= 0 || got[sessionCookie] >= 0 {
		t.Errorf("logout over HTTPS: %d %v", rw.Code, rw.Result().Cookies())
	}
}
