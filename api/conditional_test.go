package api

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
)

func TestETagRoundTrip(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	for _, path := range append(listPaths(f), "/api/schedules/"+f.sched, "/api/settings") {
		w := e.call("GET", path, nil, http.StatusOK)
		tag := w.Header().Get("ETag")
		if len(tag) < 10 || tag[0] != '"' {
			t.Fatalf("%s: ETag %q", path, tag)
		}
		for _, inm := range []string{tag, "W/" + tag, `"x", ` + tag, "*"} {
			w := e.send(req{method: "GET", path: path, header: map[string]string{"If-None-Match": inm}})
			if w.Code != http.StatusNotModified || w.Body.Len() != 0 || w.Header().Get("ETag") != tag {
				t.Errorf("%s If-None-Match %s: %d, %d bytes, ETag %q; want 304, empty, %q",
					path, inm, w.Code, w.Body.Len(), w.Header().Get("ETag"), tag)
			}
			if ct := w.Header().Get("Content-Type"); ct != "" {
				t.Errorf("%s: 304 with Content-Type %q", path, ct)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("%s: 304 without Cache-Control: no-store", path)
			}
		}
		w = e.send(req{method: "GET", path: path, header: map[string]string{"If-None-Match": `"stale"`}})
		if w.Code != http.StatusOK || w.Body.Len() == 0 {
			t.Errorf("%s stale tag: %d with %d bytes", path, w.Code, w.Body.Len())
		}
	}

	// A change of the data changes the tag.
	before := e.call("GET", "/api/schedules", nil, http.StatusOK).Header().Get("ETag")
	e.call("PUT", "/api/schedules/"+f.sched, map[string]any{"cron_expr": "0 3 * * *"}, http.StatusOK)
	w := e.send(req{method: "GET", path: "/api/schedules", header: map[string]string{"If-None-Match": before}})
	if w.Code != http.StatusOK || w.Header().Get("ETag") == before {
		t.Errorf("after an update: %d, ETag %q unchanged", w.Code, before)
	}

	// No validator on writes and errors.
	if tag := e.call("GET", "/api/schedules/nope", nil, http.StatusNotFound).Header().Get("ETag"); tag != "" {
		t.Errorf("404 has ETag %q", tag)
	}
	if tag := e.call("POST", "/api/backups/"+f.backup+"/verify", nil, http.StatusOK).Header().Get("ETag"); tag != "" {
		t.Errorf("POST has ETag %q", tag)
	}
}

func gzipGET(e *env, path string, accept string) *httptest.ResponseRecorder {
	h := map[string]string{}
	if accept != "" {
		h["Accept-Encoding"] = accept
	}
	return e.send(req{method: "GET", path: path, header: h})
}

func TestGzipOnlyLargeAndAccepted(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	seedLists(t, e, f, 20)
	big, small := "/api/schedules", "/api/schedules?limit=1" // > 1 KB and < 1 KB
	plain := e.call("GET", big, nil, http.StatusOK).Body.Bytes()
	if len(plain) <= gzipMin || len(e.call("GET", small, nil, http.StatusOK).Body.Bytes()) > gzipMin {
		t.Fatalf("sizes do not straddle %d bytes", gzipMin)
	}
	for _, tc := range []struct {
		path, accept string
		want         bool
	}{
		{big, "gzip", true},
		{big, "gzip, deflate, br", true},
		{big, "br;q=1.0, GZIP;q=0.5", true},
		{big, "", false},
		{big, "br", false},
		{big, "gzip;q=0", false},
		{small, "gzip", false},
	} {
		w := gzipGET(e, tc.path, tc.accept)
		if w.Code != http.StatusOK {
			t.Fatalf("%s %q: %d", tc.path, tc.accept, w.Code)
		}
		if !slices.Contains(w.Header().Values("Vary"), "Accept-Encoding") {
			t.Errorf("%s %q: no Vary: Accept-Encoding", tc.path, tc.accept)
		}
		got := w.Header().Get("Content-Encoding") == "gzip"
		if got != tc.want {
			t.Errorf("%s %q: gzipped %v, want %v", tc.path, tc.accept, got, tc.want)
			continue
		}
		if cl := w.Header().Get("Content-Length"); cl != strconv.Itoa(w.Body.Len()) {
			t.Errorf("%s %q: Content-Length %s for %d bytes", tc.path, tc.accept, cl, w.Body.Len())
		}
		if !got {
			continue
		}
		zr, err := gzip.NewReader(w.Body)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(body, plain) {
			t.Errorf("%s: gunzipped body differs (%v)", tc.path, err)
		}
		if w.Body.Len() >= len(plain)/2 {
			t.Errorf("%s: %d gzipped bytes of %d", tc.path, w.Body.Len(), len(plain))
		}
		// The gzipped representation has its own tag, and it revalidates.
		tag := w.Header().Get("ETag")
		if tag == e.call("GET", big, nil, http.StatusOK).Header().Get("ETag") {
			t.Errorf("gzip and identity share ETag %s", tag)
		}
		w = e.send(req{method: "GET", path: big, header: map[string]string{"Accept-Encoding": tc.accept, "If-None-Match": tag}})
		if w.Code != http.StatusNotModified {
			t.Errorf("gzip revalidation: %d", w.Code)
		}
	}
}

// TestNoDoubleCompression: a backup download (already compressed) and
// /metrics (promhttp negotiates its own) pass through untouched.
func TestNoDoubleCompression(t *testing.T) {
	payload := bytes.Repeat([]byte("already compressed "), 500)
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(payload)
	})
	e := newEnv(t, func(d *Deps) { d.Metrics = metrics })
	f := newFixture(e)
	e.eng.payload = payload
	for _, path := range []string{"/metrics", "/api/backups/" + f.backup + "/download"} {
		w := gzipGET(e, path, "gzip")
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
		if ce := w.Header().Get("Content-Encoding"); ce != "" || !bytes.Equal(w.Body.Bytes(), payload) {
			t.Errorf("%s: Content-Encoding %q, %d bytes; want the %d bytes as they are", path, ce, w.Body.Len(), len(payload))
		}
	}
}
