package api

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/jagad/jagad/state"
)

type restoreView struct {
	ID               string     `json:"id"`
	BackupID         string     `json:"backup_id"`
	TargetConnection string     `json:"target_connection"`
	TargetDatabase   string     `json:"target_database"`
	DropExisting     bool       `json:"drop_existing"`
	NoPrivileges     bool       `json:"no_privileges"`
	Drill            bool       `json:"drill,omitempty"`
	Status           string     `json:"status"`
	DurationMs       int64      `json:"duration_ms"`
	LogOutput        string     `json:"log_output"`
	StartedAt        *time.Time `json:"started_at"`
	CompletedAt      *time.Time `json:"completed_at"`
	CreatedAt        time.Time  `json:"created_at"`
}

func viewRestore(r state.Restore) restoreView {
	return restoreView{ID: r.ID, BackupID: r.BackupID, TargetConnection: r.TargetConnection,
		TargetDatabase: r.TargetDatabase, DropExisting: r.DropExisting, NoPrivileges: r.NoPrivileges, Drill: r.Drill, Status: r.Status,
		DurationMs: r.DurationMs, LogOutput: r.LogOutput, StartedAt: r.StartedAt, CompletedAt: r.CompletedAt,
		CreatedAt: r.CreatedAt}
}

// listRestores lists restores newest first.
func (s *server) listRestores(_ *http.Request, _ httprouter.Params) (any, error) {
	var all []state.Restore
	err := s.store.View(func(tx *state.Tx) (err error) {
		all, err = state.List[state.Restore](tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list restores: %w", err)
	}
	slices.SortFunc(all, func(a, b state.Restore) int { return b.CreatedAt.Compare(a.CreatedAt) })
	out := make([]restoreView, 0, len(all))
	for _, r := range all {
		out = append(out, viewRestore(r))
	}
	return out, nil
}

func (s *server) getRestore(_ *http.Request, p httprouter.Params) (any, error) {
	var r state.Restore
	err := s.store.View(func(tx *state.Tx) (err error) {
		r, err = getRec[state.Restore](tx, p.ByName("id"), wordRestore)
		return err
	})
	if err != nil {
		return nil, err
	}
	return viewRestore(r), nil
}
