package api

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/jagad/jagad/api/apierr"
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
	public    bool     // no session needed
	bodyTypes []string // accepted Content-Types for cookie-authenticated writes; default JSON
}

var jsonTypes = []string{"application/json"}

// statusOf is the one table that maps error codes to HTTP statuses.
var statusOf = map[apierr.Code]int{
	apierr.CodeInvalid:         http.StatusBadRequest,
	apierr.CodeNotFound:        http.StatusNotFound,
	apierr.CodeConflict:        http.StatusConflict,
	apierr.CodeUnauthorized:    http.StatusUnauthorized,
	apierr.CodeForbidden:       http.StatusForbidden,
	apierr.CodeTooLarge:        http.StatusRequestEntityTooLarge,
	apierr.CodeTooManyRequests: http.StatusTooManyRequests,
	apierr.CodeUnavailable:     http.StatusServiceUnavailable,
	apierr.CodeUpstream:        http.StatusBadGateway,
	apierr.CodeInternal:        http.StatusInternalServerError,

	// The data dir is below its free-space floor: 507, not 503, because the
	// server is up and serving reads; only storing is impossible.
	apierr.CodeInsufficientStorage: http.StatusInsufficientStorage,
}

// wrap turns a handlerFunc into an httprouter.Handle: body limit, auth, CSRF,
// JSON encoding and error mapping.
func (s *server) wrap(h handlerFunc, o routeOpts) httprouter.Handle {
	if o.bodyTypes == nil {
		o.bodyTypes = jsonTypes
	}
	return func(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if !o.public {
			a, err := s.authenticate(r)
			if err == nil {
				err = checkCSRF(r, a, o.bodyTypes)
			}
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
	default:
		writeJSON(w, http.StatusOK, v)
	}
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
		err = apierr.Errorf(apierr.CodeTooLarge, "request body too large (limit %d bytes)", mbe.Limit)
	}
	e, ok := apierr.As(err)
	if !ok {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e = &apierr.Error{Code: apierr.CodeInternal, Message: "internal error"}
	}
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if e.RetryAfter > 0 {
		secs := int((e.RetryAfter + 999_999_999) / 1_000_000_000)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	if e.Code == apierr.CodeUnauthorized && r.URL.Path != "/api/auth/login" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="jagad"`)
	}
	writeJSON(w, status, map[string]string{"error": e.Message})
}

// checkCSRF guards cookie-authenticated writes: the body must be one of the
// route's content types (which a cross-site form cannot send) and an Origin
// header, when present, must match the Host. Header-token requests are exempt.
func checkCSRF(r *http.Request, a authInfo, types []string) error {
	if !a.viaCookie || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	okType := false
	for _, t := range types {
		if strings.EqualFold(mt, t) {
			okType = true
		}
	}
	if !okType {
		return apierr.Forbidden("cookie-authenticated writes must send Content-Type " + strings.Join(types, " or "))
	}
	return checkOrigin(r)
}

// checkOrigin refuses a request whose Origin header names another host.
func checkOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || !strings.EqualFold(u.Host, r.Host) {
		return apierr.Forbidden("cross-origin request refused")
	}
	return nil
}
