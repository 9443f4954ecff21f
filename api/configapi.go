package api

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/jagad/jagad/reconcile"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

const noConfigFile = "no config file: jagad runs in API-only mode (start it with a jagad.yaml to use this endpoint)"

func (s *server) configStatus(_ *http.Request, _ httprouter.Params) (any, error) {
	if s.config == nil {
		return nil, fault.NotFound(noConfigFile)
	}
	v := configStatusView{ConfigStatus: s.config.Status(), Overrides: []overrideView{}, NeedsRestart: []string{}}
	if s.restart != nil {
		v.NeedsRestart = append(v.NeedsRestart, s.restart.InForce()...)
	}
	err := s.store.View(func(tx *state.Tx) error {
		all, err := state.List[state.Schedule](tx)
		for _, sc := range all {
			if sc.Override != nil && sc.ManagedBy == state.ManagedByFile {
				v.Overrides = append(v.Overrides, overrideView{Kind: "schedule", ID: sc.ID, Name: sc.Name, Override: sc.Override})
			}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	slices.SortFunc(v.Overrides, func(a, b overrideView) int { return strings.Compare(a.Name, b.Name) })
	return v, nil
}

// configStatusView is the reconciler's status plus the runtime overrides
// in force on file-managed records (they win over the file until cleared).
type configStatusView struct {
	state.ConfigStatus
	Overrides []overrideView `json:"overrides"`
	// NeedsRestart: the file in force differs from the configuration the
	// daemon started with in settings read only at start (RestartNotes).
	NeedsRestart []string `json:"needs_restart"`
}

type overrideView struct {
	Kind     string          `json:"kind"`
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Override *state.Override `json:"override"`
}

// configPlan diffs a jagad.yaml document (the body, at most 1 MiB) against
// the current state; nothing is applied. The planner resolves ${VAR} as the
// daemon would but never returns a resolved value, and refuses ${file:...}
// (400): whoever may post a plan must not read the daemon's files or
// environment through it. Diagnostics name the document jagad.yaml.
func (s *server) configPlan(r *http.Request, _ httprouter.Params) (any, error) {
	if s.config == nil {
		return nil, fault.Conflict(noConfigFile)
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		if !slices.Contains(yamlTypes, strings.ToLower(mt)) {
			return nil, fault.Invalid("Content-Type must be one of " + strings.Join(yamlTypes, ", "))
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, fault.Invalid("request body is empty; send a jagad.yaml document")
	}
	p, err := s.config.PlanBytes(body)
	if err != nil {
		return nil, fault.Wrap(fault.CodeInvalid, err.Error(), err)
	}
	v := planView(p)
	if s.restart != nil {
		v.NeedsRestart = s.restart.ForDocument(body)
	}
	return v, nil
}

// configReload re-reads the config file now; ?confirm_prune=true releases a
// plan held by the prune guard.
func (s *server) configReload(r *http.Request, _ httprouter.Params) (any, error) {
	if s.config == nil {
		return nil, fault.Conflict(noConfigFile)
	}
	confirm := false
	if v := r.URL.Query().Get("confirm_prune"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fault.Invalid(`invalid value for query parameter "confirm_prune": expected true or false`)
		}
		confirm = b
	}
	res := s.config.Reload(r.Context(), "api", confirm)
	switch {
	case res.Err == nil:
		v := planView(res.Plan)
		if s.restart != nil {
			v.NeedsRestart = s.restart.InForce()
		}
		return v, nil
	case res.Result == reconcile.OutcomeHeld:
		return nil, fault.Wrap(fault.CodeConflict, res.Err.Error(), res.Err)
	default:
		return nil, fault.Wrap(fault.CodeInvalid, res.Err.Error(), res.Err)
	}
}
