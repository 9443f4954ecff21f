package api

import (
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// securityHeaders sets the headers every response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if strings.HasPrefix(r.URL.Path, "/api/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// recorder remembers the status and counts the bytes of a response.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer (flush, deadlines).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// accessLog writes one line per request. It logs the path without the query
// string and never bodies or headers, so tokens and secrets stay out of logs.
// See accessLevel for the level; the duration is in seconds.
func (s *server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		level := accessLevel(r, rec.status)
		if !s.log.Enabled(r.Context(), level) {
			return
		}
		s.log.Log(r.Context(), level, "http request",
			"method", r.Method, "path", r.URL.Path, "status", rec.status, "bytes", rec.bytes,
			"duration_seconds", time.Since(start).Seconds(), "client", s.clientAddr(r))
	})
}

// accessLevel: server errors are WARN (an unclassified error was already
// logged at ERROR by writeError); requests that may change state (every
// method but GET, HEAD and OPTIONS) are INFO, refused or not, so the INFO
// log is an audit trail of writes; reads are DEBUG, so pollers do not flood
// it. A /readyz 503 is its answer, not a failure: DEBUG like every probe.
func accessLevel(r *http.Request, status int) slog.Level {
	probe := false
	switch r.URL.Path {
	case "/livez", "/readyz", "/metrics", "/api/health":
		probe = true
	}
	switch {
	case status >= 500 && !(probe && status == http.StatusServiceUnavailable):
		return slog.LevelWarn
	case probe:
		return slog.LevelDebug
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return slog.LevelDebug
	}
	return slog.LevelInfo
}
