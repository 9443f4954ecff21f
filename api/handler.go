package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/julienschmidt/httprouter"

	"github.com/jagad/jagad/state/fault"
)

// handlerFunc is the shape of every endpoint.
type handlerFunc func(r *http.Request, p httprouter.Params) (any, error)

// response lets a handler choose a status other than 200.
type response struct {
	status int
	body   any // nil: no body
}

func created(v any) response { return response{status: http.StatusCreated, body: v} }

var noContent = response{status: http.StatusNoContent}

// streamer writes its own response (downloads, YAML, metrics).
type streamer func(w http.ResponseWriter) error

// routeOpts say how the wrapper treats a route.
type routeOpts struct {
	public bool // no session needed
}

// statusOf is the one table that maps error codes to HTTP statuses.
var statusOf = map[fault.Code]int{
	fault.CodeInvalid:         http.StatusBadRequest,
	fault.CodeNotFound:        http.StatusNotFound,
	fault.CodeConflict:        http.StatusConflict,
	fault.CodeUnauthorized:    http.StatusUnauthorized,
	fault.CodeForbidden:       http.StatusForbidden,
	fault.CodeTooLarge:        http.StatusRequestEntityTooLarge,
	fault.CodeTooManyRequests: http.StatusTooManyRequests,
	fault.CodeUnavailable:     http.StatusServiceUnavailable,
	fault.CodeUpstream:        http.StatusBadGateway,
	fault.CodeInternal:        http.StatusInternalServerError,

	// The data dir is below its free-space floor: 507, not 503, because the
	// server is up and serving reads; only storing is impossible.
	fault.CodeInsufficientStorage: http.StatusInsufficientStorage,
}

// wrap turns a handlerFunc into an httprouter.Handle: body limit, CSRF, auth,
// JSON encoding and error mapping.
func (s *server) wrap(h handlerFunc, o routeOpts) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := s.crossOrigin(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		if !o.public {
			a, err := s.authenticate(r)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), authKey{}, a))
		}
		v, err := h(r, p)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.writeValue(w, r, v)
	}
}

func (s *server) writeValue(w http.ResponseWriter, r *http.Request, v any) {
	switch v := v.(type) {
	case streamer:
		if err := v(w); err != nil {
			// Headers may be gone already; log once, the client sees a cut stream.
			s.log.Error("write response", "method", r.Method, "path", r.URL.Path, "err", err)
		}
	case response:
		if v.body == nil {
			w.WriteHeader(v.status)
			return
		}
		writeJSON(w, v.status, v.body)
	case listPage:
		setTotal(w, v.total)
		s.writeOK(w, r, v.items)
	default:
		s.writeOK(w, r, v)
	}
}

// writeOK writes a 200 JSON body: with an ETag on GETs, answering 304 to an
// If-None-Match that names it, and gzipped when long and accepted (see
// conditional.go). Only bodies written here are compressed: streamers
// (downloads, the export, event streams) and /metrics never pass through it.
func (s *server) writeOK(w http.ResponseWriter, r *http.Request, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.log.Error("encode response", "method", r.Method, "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
		return
	}
	b = append(b, '\n')
	h := w.Header()
	h.Add("Vary", "Accept-Encoding")
	gz := len(b) > gzipMin && acceptsGzip(r)
	if r.Method == http.MethodGet && h.Get("Set-Cookie") == "" {
		tag := etagOf(b, gz)
		h.Set("ETag", tag)
		if noneMatch(r.Header.Get("If-None-Match"), tag) {
			// A 304 repeats ETag, Vary and Cache-Control, not the body's headers.
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	if gz {
		b = gzipBytes(b)
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeError maps err through statusOf; unclassified errors are logged once
// and shown as "internal error".
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = fault.Errorf(fault.CodeTooLarge, "request body too large (limit %d bytes)", mbe.Limit)
	}
	e, ok := fault.As(err)
	if !ok {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e = &fault.Error{Code: fault.CodeInternal, Message: "internal error"}
	}
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if e.RetryAfter > 0 {
		secs := int((e.RetryAfter + 999_999_999) / 1_000_000_000)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	if e.Code == fault.CodeUnauthorized && r.URL.Path != "/api/auth/login" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="jagad"`)
	}
	writeJSON(w, status, map[string]string{"error": e.Message})
}

// crossOrigin refuses a browser's non-safe cross-origin request
// (net/http.CrossOriginProtection: Sec-Fetch-Site, else Origin against Host,
// plus the trusted origins). Requests that carry an Authorization header are
// exempt: a browser never attaches one on its own, so they are not forgeable.
// Everything else is checked, logged in or not: the session cookie rides
// along on any request, and a forged login would plant the attacker's session.
func (s *server) crossOrigin(r *http.Request) error {
	if tok, viaCookie := tokenFrom(r); tok != "" && !viaCookie {
		return nil
	}
	if err := s.origins.Check(r); err != nil {
		return fault.Forbidden("cross-origin request refused: the page's origin is not this server's " +
			"(add it to JAGAD_TRUSTED_ORIGINS if it should be trusted)")
	}
	return nil
}
