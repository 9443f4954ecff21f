package api

import (
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// healthResponse is the reference's {status, version, encryption,
// providers, legacy_storage}, plus ready and, when not ready, reason.
type healthResponse struct {
	Status  string `json:"status"`
	Version string `json:"version"`
	Health
	Ready  bool   `json:"ready"`
	Reason string `json:"reason,omitempty"`
}

// healthz is GET /api/health (public). Without a Health func, providers says
// whether any storage provider exists. It answers as /readyz does: 200 with
// status "ok" when ready, else 503 with status "not ready" and the reason
// (e.g. no valid configuration in force), in the same shape, so that
// `curl --fail` uptime checks and container health checks see it.
func (s *server) healthz(_ *http.Request, _ httprouter.Params) (any, error) {
	var h Health
	if s.health != nil {
		h = s.health()
	} else {
		err := s.store.View(func(tx *state.Tx) error {
			ps, err := state.List[state.Provider](tx)
			h.Providers = len(ps) > 0
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if err := s.ready(); err != nil {
		body := healthResponse{Status: "not ready", Version: s.version, Health: h, Reason: err.Error()}
		return response{status: http.StatusServiceUnavailable, body: body}, nil
	}
	return healthResponse{Status: "ok", Version: s.version, Health: h, Ready: true}, nil
}

type probeResponse struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

func (s *server) livez(_ *http.Request, _ httprouter.Params) (any, error) {
	return probeResponse{Status: "ok"}, nil
}

// readyz answers 503 until the daemon is ready (store open, config loaded, engine up).
func (s *server) readyz(_ *http.Request, _ httprouter.Params) (any, error) {
	if err := s.ready(); err != nil {
		return response{status: http.StatusServiceUnavailable, body: probeResponse{Status: "not ready", Error: err.Error()}}, nil
	}
	return probeResponse{Status: "ready"}, nil
}

// serveMetrics serves the Prometheus handler, behind a bearer token when set.
func (s *server) serveMetrics(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if s.metrics == nil {
		s.writeError(w, r, fault.NotFound("metrics are not enabled"))
		return
	}
	if want := s.metricsToken(); want != "" && !s.metricsAllowed(r, want) { // tokens_auth.go
		s.writeError(w, r, errUnauthorized)
		return
	}
	s.metrics.ServeHTTP(w, r)
}
