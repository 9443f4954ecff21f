package api

import (
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/jagad/jagad/api/apierr"
)

const noConfigFile = "no config file: jagad runs in API-only mode (start it with a jagad.yaml to use this endpoint)"

func (s *server) configStatus(_ *http.Request, _ httprouter.Params) (any, error) {
	if s.config == nil {
		return nil, apierr.NotFound(noConfigFile)
	}
	return s.config.Status()
}

// configPlan diffs a jagad.yaml document (the body, at most 1 MiB) against
// the current state; nothing is applied.
func (s *server) configPlan(r *http.Request, _ httprouter.Params) (any, error) {
	if s.config == nil {
		return nil, apierr.Conflict(noConfigFile)
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		if !slices.Contains(yamlTypes, strings.ToLower(mt)) {
			return nil, apierr.Invalid("Content-Type must be one of " + strings.Join(yamlTypes, ", "))
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, apierr.Invalid("request body is empty; send a jagad.yaml document")
	}
	return s.config.Plan(r.Context(), body)
}

// configReload re-reads the config file now; ?confirm_prune=true releases a
// plan held by the prune guard.
func (s *server) configReload(r *http.Request, _ httprouter.Params) (any, error) {
	if s.config == nil {
		return nil, apierr.Conflict(noConfigFile)
	}
	confirm := false
	if v := r.URL.Query().Get("confirm_prune"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, apierr.Invalid(`invalid value for query parameter "confirm_prune": expected true or false`)
		}
		confirm = b
	}
	return s.config.Reload(r.Context(), confirm)
}
