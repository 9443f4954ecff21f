package api

import (
	"net/http"
	"strings"

	"github.com/jagad/jagad/api/web"
	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/state"
)

// newUI builds the dashboard (package api/web) over this server's store,
// sessions and engine. It serves every GET or HEAD outside /api/ that no
// API route answers (see serveUI).
func (s *server) newUI() (http.Handler, error) {
	d := web.Deps{
		Store: s.store, Version: s.version, Now: s.now, Logger: s.log.With("component", "web"),
		Auth: func(r *http.Request) (string, bool) {
			a, err := s.authenticate(r)
			return a.user, err == nil
		},
		ScheduleInfo: s.engine.ScheduleInfo,
		ClusterGroup: s.clusterGroup,
	}
	if s.config != nil {
		d.ConfigStatus = func() (state.ConfigStatus, error) { return s.config.Status(), nil }
	}
	if s.progress != nil {
		d.Progress = func() []engine.Progress { return s.progress.RunningProgress() }
	}
	return web.New(d)
}

// serveUI reports whether r is the dashboard's and serves it.
func (s *server) serveUI(w http.ResponseWriter, r *http.Request) bool {
	if s.ui == nil || strings.HasPrefix(r.URL.Path, "/api/") || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false
	}
	s.ui.ServeHTTP(w, r)
	return true
}
