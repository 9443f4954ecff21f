package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// browserReq is a request with exactly the headers a browser sends: the
// session cookie (never an Authorization header), the fetch metadata and
// Origin headers, and a Content-Type only when there is a body.
type browserReq struct {
	method, path string
	host         string            // Host header; "" keeps httptest's example.com
	cookie       string            // session cookie value; "" sends none
	body         string            // "" sends no body and no Content-Type
	contentType  string            // with body
	header       map[string]string // Sec-Fetch-Site, Origin, …
}

func (e *env) browser(b browserReq) *httptest.ResponseRecorder {
	e.tb.Helper()
	var hr *http.Request
	if b.body == "" {
		hr = httptest.NewRequest(b.method, b.path, nil)
	} else {
		hr = httptest.NewRequest(b.method, b.path, strings.NewReader(b.body))
		hr.Header.Set("Content-Type", b.contentType)
	}
	hr.RemoteAddr = "192.0.2.77:5000"
	if b.host != "" {
		hr.Host = b.host
	}
	if b.cookie != "" {
		hr.AddCookie(&http.Cookie{Name: sessionCookie, Value: b.cookie})
	}
	for k, v := range b.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, hr)
	return w
}

// sameOrigin are the headers of a fetch() from a page on http://example.com
// (httptest's Host).
var sameOrigin = map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors", "Origin": "http://example.com"}

// TestBrowserSameOriginWritesWithoutBody: the original web UI sends the
// body-less actions and every DELETE with the cookie and no Content-Type.
func TestBrowserSameOriginWritesWithoutBody(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"POST", "/api/schedules/" + f.sched + "/run", http.StatusOK},
		{"POST", "/api/backups/" + f.backup + "/verify", http.StatusOK},
		{"POST", "/api/notifications/" + f.notif + "/test", http.StatusOK},
		{"POST", "/api/storage-providers/" + f.prov + "/test", http.StatusOK},
		{"POST", "/api/storage-providers/" + f.prov + "/set-default", http.StatusOK},
		{"DELETE", "/api/backups/" + f.backup, http.StatusNoContent},
		{"DELETE", "/api/schedules/" + f.sched, http.StatusNoContent},
	} {
		w := e.browser(browserReq{method: c.method, path: c.path, cookie: e.token, header: sameOrigin})
		if w.Code != c.want {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, w.Code, w.Body, c.want)
		}
	}
}

// TestBrowserCrossSiteRefused: a form on another site posting to Jagad with
// the victim's cookie is refused with the API's JSON error shape, with or
// without fetch metadata, with a form type or none.
func TestBrowserCrossSiteRefused(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	form := "name=x&db_type=mysql&host=h&username=u"
	for _, c := range []struct {
		name string
		r    browserReq
	}{
		{"form post, Sec-Fetch-Site cross-site", browserReq{method: "POST", path: "/api/connections", body: form,
			contentType: "application/x-www-form-urlencoded",
			header:      map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Origin": "https://evil.example"}}},
		{"text/plain JSON post, cross-site", browserReq{method: "POST", path: "/api/connections",
			body: `{"name":"x","db_type":"mysql","host":"h","username":"u"}`, contentType: "text/plain",
			header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}}},
		{"body-less run, cross-site", browserReq{method: "POST", path: "/api/schedules/" + f.sched + "/run",
			header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}}},
		{"sibling subdomain (same-site, not same-origin)", browserReq{method: "DELETE", path: "/api/schedules/" + f.sched,
			header: map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://other.example.com"}}},
		{"no Sec-Fetch-Site, Origin is another host", browserReq{method: "POST", path: "/api/schedules/" + f.sched + "/run",
			header: map[string]string{"Origin": "https://evil.example"}}},
		{"no Sec-Fetch-Site, JSON body, Origin is another host", browserReq{method: "POST", path: "/api/connections",
			body: `{"name":"x","db_type":"mysql","host":"h","username":"u"}`, contentType: "application/json",
			header: map[string]string{"Origin": "https://evil.example"}}},
		{"login form from another site", browserReq{method: "POST", path: "/api/auth/login",
			body: `{"username":"admin","password":"x"}`, contentType: "text/plain",
			header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}}},
	} {
		if c.r.path != "/api/auth/login" {
			c.r.cookie = e.token
		}
		w := e.browser(c.r)
		if w.Code != http.StatusForbidden {
			t.Errorf("%s: %d %s, want 403", c.name, w.Code, w.Body)
			continue
		}
		var body struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || !strings.Contains(body.Error, "cross-origin") {
			t.Errorf("%s: body %q is not the API's JSON error naming the cause (%v)", c.name, w.Body, err)
		}
	}
	if e.eng.called("run ") {
		t.Error("a refused request reached the engine")
	}
}

// TestBrowserBehindPortDroppingProxy: nginx with `proxy_set_header Host
// $host` published on 8085 forwards Host without the port, so Origin and
// Host differ; Sec-Fetch-Site says same-origin and is trusted.
func TestBrowserBehindPortDroppingProxy(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	hdr := map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors", "Origin": "http://localhost:8085"}
	w := e.browser(browserReq{method: "POST", path: "/api/auth/login", host: "localhost", header: hdr,
		body: `{"username":"` + testUser + `","password":"` + testPass + `"}`, contentType: "application/json"})
	if w.Code != http.StatusOK {
		t.Fatalf("login behind the proxy: %d %s", w.Code, w.Body)
	}
	var lr loginResponse
	mustJSON(t, w, &lr)
	w = e.browser(browserReq{method: "POST", path: "/api/schedules/" + f.sched + "/run", host: "localhost", cookie: lr.Token, header: hdr})
	if w.Code != http.StatusOK {
		t.Errorf("run behind the proxy: %d %s", w.Code, w.Body)
	}
}

// TestNonBrowserClientsUnaffected: a bearer token, or a cookie from curl
// (no Origin, no Sec-Fetch-Site), is not a browser's cross-site request.
func TestNonBrowserClientsUnaffected(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	if w := e.browser(browserReq{method: "POST", path: "/api/schedules/" + f.sched + "/run", cookie: e.token}); w.Code != http.StatusOK {
		t.Errorf("curl with cookie, no body: %d %s", w.Code, w.Body)
	}
	if w := e.send(req{method: "POST", path: "/api/schedules/" + f.sched + "/run",
		header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://ci.example"}}); w.Code != http.StatusOK {
		t.Errorf("bearer token: %d %s", w.Code, w.Body)
	}
}

// called reports whether the fake engine saw a call starting with prefix.
func (f *fakeEngine) called(prefix string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			return true
		}
	}
	return false
}

// TestTrustedOriginsSetting: a UI served from another origin the operator
// names (JAGAD_TRUSTED_ORIGINS) may write; other origins still may not.
func TestTrustedOriginsSetting(t *testing.T) {
	origins, err := ParseTrustedOrigins(" https://ui.example:8443 ,, http://10.0.0.5 ")
	if err != nil || len(origins) != 2 {
		t.Fatalf("ParseTrustedOrigins: %v %v", origins, err)
	}
	e := newEnv(t, func(d *Deps) { d.TrustedOrigins = origins })
	f := newFixture(e)
	run := "/api/schedules/" + f.sched + "/run"
	for origin, want := range map[string]int{
		"https://ui.example:8443": http.StatusOK,
		"http://10.0.0.5":         http.StatusOK,
		"https://ui.example":      http.StatusForbidden, // another port is another origin
		"https://evil.example":    http.StatusForbidden,
	} {
		w := e.browser(browserReq{method: "POST", path: run, cookie: e.token,
			header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": origin}})
		if w.Code != want {
			t.Errorf("Origin %s: %d %s, want %d", origin, w.Code, w.Body, want)
		}
	}
	for _, bad := range []string{"ui.example", "https://ui.example/path", "https://ui.example?q", "*"} {
		if _, err := ParseTrustedOrigins(bad); err == nil {
			t.Errorf("ParseTrustedOrigins(%q) accepted", bad)
		}
	}
}
