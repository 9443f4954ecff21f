package api

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestClientAddr(t *testing.T) {
	proxies, err := ParseTrustedProxies(" 10.0.0.0/8, 192.0.2.10 ,fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{proxies: proxies}
	tests := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"no proxy", "203.0.113.5:1000", nil, "203.0.113.5"},
		{"untrusted peer's header is ignored", "203.0.113.5:1000", []string{"198.51.100.1"}, "203.0.113.5"},
		{"trusted proxy", "10.1.2.3:1000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"client-written entries left of the real one are ignored", "10.1.2.3:1000", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"chain of trusted proxies", "10.1.2.3:1000", []string{"198.51.100.1, 192.0.2.10", "10.9.9.9"}, "198.51.100.1"},
		{"single trusted address", "192.0.2.10:80", []string{"198.51.100.7"}, "198.51.100.7"},
		{"IPv6 proxy", "[fd00::1]:80", []string{"2001:db8::5"}, "2001:db8::5"},
		{"IPv4-mapped proxy", "[::ffff:10.0.0.1]:80", []string{"198.51.100.9"}, "198.51.100.9"},
		{"only proxies in the chain", "10.1.2.3:1000", []string{"10.0.0.7"}, "10.0.0.7"},
		{"garbled chain", "10.1.2.3:1000", []string{"198.51.100.1, not-an-ip"}, "10.1.2.3"},
		{"trusted proxy without header", "10.1.2.3:1000", nil, "10.1.2.3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			for _, h := range tc.xff {
				r.Header.Add("X-Forwarded-For", h)
			}
			if got := s.clientAddr(r); got != tc.want {
				t.Errorf("clientAddr = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies("10.0.0.1/8,::1")
	if err != nil || len(got) != 2 || got[0] != netip.MustParsePrefix("10.0.0.0/8") || got[1] != netip.MustParsePrefix("::1/128") {
		t.Fatalf("got %v, %v", got, err)
	}
	if got, err := ParseTrustedProxies(""); err != nil || len(got) != 0 {
		t.Fatalf("empty: %v, %v", got, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.local", "10.0.0"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestThrottleBehindTrustedProxy: behind a trusted proxy, failed logins
// count against the client X-Forwarded-For names, so one client guessing
// does not lock out another coming through the same proxy; the session
// cookie is Secure when the proxy says the client used HTTPS.
func TestThrottleBehindTrustedProxy(t *testing.T) {
	proxies, _ := ParseTrustedProxies("10.0.0.0/8")
	e := newEnv(t, func(d *Deps) { d.TrustedProxies = proxies })
	via := func(user, pass, client string) req {
		r := loginReq(user, pass, "10.0.0.2:443")
		r.header = map[string]string{"X-Forwarded-For": client, "X-Forwarded-Proto": "https"}
		return r
	}
	for i := 0; i < addrLimit+5; i++ {
		e.send(via(testUser, "guess", "203.0.113.7"))
	}
	if w := e.send(via(testUser, testPass, "203.0.113.7")); w.Code != http.StatusTooManyRequests {
		t.Errorf("the guessing client: %d, want 429", w.Code)
	}
	w := e.send(via(testUser, testPass, "198.51.100.2"))
	if w.Code != http.StatusOK {
		t.Fatalf("another client through the same proxy: %d %s", w.Code, w.Body)
	}
	if c := w.Header().Get("Set-Cookie"); !strings.Contains(c, "Secure") {
		t.Errorf("cookie behind an HTTPS proxy is not Secure: %s", c)
	}
	// The same header from an untrusted peer counts against the peer.
	for i := 0; i < addrLimit+5; i++ {
		r := loginReq(testUser, "guess", "203.0.113.50:1")
		r.header = map[string]string{"X-Forwarded-For": "198.51.100.77"}
		e.send(r)
	}
	if w := e.send(loginReq(testUser, testPass, "203.0.113.50:2")); w.Code != http.StatusTooManyRequests {
		t.Errorf("untrusted peer that spoofed X-Forwarded-For: %d, want 429", w.Code)
	}
}

// TestMetricsTokenFollowsConfig: the token is asked for on every scrape.
func TestMetricsTokenFollowsConfig(t *testing.T) {
	tok := "first"
	e := newEnv(t, func(d *Deps) {
		d.Metrics = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("up 1\n")) })
		d.MetricsToken = func() string { return tok }
	})
	scrape := func(bearer string) int {
		return e.send(req{method: "GET", path: "/metrics", noAuth: true, header: map[string]string{"Authorization": "Bearer " + bearer}}).Code
	}
	if scrape("first") != 200 || scrape("second") != 401 {
		t.Fatal("first token not enforced")
	}
	tok = "second"
	if scrape("first") != 401 || scrape("second") != 200 {
		t.Fatal("changed token not followed")
	}
}
