package api

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

type restoreInput struct {
	TargetConnection string `json:"target_connection"`
	TargetDatabase   string `json:"target_database"`
	DropExisting     bool   `json:"drop_existing"`
	NoPrivileges     bool   `json:"no_privileges"`
	RestoreType      string `json:"restore_type"` // "" = full; the original web UI's restore wizard sends "full"
	TargetDir        string `json:"target_dir"`   // physical backups: the new data directory (absolute)
	Check            bool   `json:"check"`        // PostgreSQL physical backups: start a throwaway server on it
	// Point-in-time restore: target_time (RFC 3339; PostgreSQL physical
	// backups, and MySQL/MariaDB chains with archived binary logs), or
	// target_lsn or latest (PostgreSQL physical backups).
	TargetTime string `json:"target_time"`
	TargetLSN  string `json:"target_lsn"`
	Latest     bool   `json:"latest"`
}

// restoreBackup starts a restore (201 with the restore record). The body is
// optional: {} restores into the backup's own connection and database.
func (s *server) restoreBackup(r *http.Request, p httprouter.Params) (any, error) {
	var in restoreInput
	if err := decodeOptional(r, &in); err != nil {
		return nil, err
	}
	if in.TargetDir != "" && !filepath.IsAbs(in.TargetDir) {
		return nil, fieldErr("target_dir", "must be an absolute path, got %q", in.TargetDir)
	}
	var targetTime *time.Time
	if in.TargetTime != "" {
		t, err := time.Parse(time.RFC3339, in.TargetTime)
		if err != nil {
			return nil, fieldErr("target_time", "must be an RFC 3339 time (2006-01-02T15:04:05Z), got %q", in.TargetTime)
		}
		targetTime = &t
	}
	if in.TargetDatabase != "" {
		if err := config.CheckDatabaseName(in.TargetDatabase); err != nil {
			return nil, fieldErr("target_database", "%s", err.Error())
		}
	}
	var b state.Backup
	err := s.store.View(func(tx *state.Tx) (err error) {
		if b, err = getRec[state.Backup](tx, p.ByName("id"), wordBackup); err != nil {
			return err
		}
		if in.TargetConnection != "" {
			if _, err := state.Get[state.Connection](tx, in.TargetConnection); errors.Is(err, state.ErrNotFound) {
				return fault.NotFound("target connection not found")
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if b.Status != state.StatusSuccess {
		return nil, fault.Invalid("cannot restore backup with status: " + b.Status)
	}
	if err := checkRestoreType(in, b.DBType); err != nil {
		return nil, err
	}
	res, err := s.engine.Restore(r.Context(), b.ID, engine.RestoreRequest{TargetConnection: in.TargetConnection,
		TargetDatabase: in.TargetDatabase, DropExisting: in.DropExisting, NoPrivileges: in.NoPrivileges,
		RestoreType: in.RestoreType, TargetDir: in.TargetDir, Check: in.Check,
		TargetTime: targetTime, TargetLSN: in.TargetLSN, Latest: in.Latest})
	if err != nil {
		return nil, err
	}
	return created(viewRestore(res)), nil
}

// checkRestoreType refuses, before anything is queued, a restore type the
// engine does not know and a data-only restore that cannot work: a
// MySQL/MariaDB dump is one SQL script of DDL and data, and data-only
// restores rows into existing tables, which drop_existing would remove.
func checkRestoreType(in restoreInput, dbType string) error {
	switch in.RestoreType {
	case "", engine.RestoreFull:
		return nil
	case engine.RestoreDataOnly:
	default:
		return fieldErr("restore_type", "unsupported value %q; supported: %s, %s", in.RestoreType, engine.RestoreFull, engine.RestoreDataOnly)
	}
	if dbType != dbclient.PostgreSQL {
		return fieldErr("restore_type", "data-only is supported for PostgreSQL backups only: a %s dump is one SQL script "+
			"of DDL and data, and a dump without DDL cannot be made from a full one; use %s", dbType, engine.RestoreFull)
	}
	if in.DropExisting {
		return fieldErr("restore_type", "data-only restores rows into the target's existing tables; it cannot be combined with drop_existing")
	}
	return nil
}

type restoreView struct {
	ID               string     `json:"id"`
	BackupID         string     `json:"backup_id"`
	TargetConnection string     `json:"target_connection"`
	TargetDatabase   string     `json:"target_database"`
	DropExisting     bool       `json:"drop_existing"`
	NoPrivileges     bool       `json:"no_privileges"`
	RestoreType      string     `json:"restore_type"`
	TargetDir        string     `json:"target_dir,omitempty"`
	Drill            bool       `json:"drill,omitempty"`
	Status           string     `json:"status"`
	DurationMs       int64      `json:"duration_ms"`
	LogOutput        string     `json:"log_output"`
	StartedAt        *time.Time `json:"started_at"`
	CompletedAt      *time.Time `json:"completed_at"`
	CreatedAt        time.Time  `json:"created_at"`
	PointInTime      string     `json:"point_in_time,omitempty"`
	// The point the request asked for (point-in-time restores).
	TargetTime *time.Time `json:"target_time,omitempty"`
	TargetLSN  string     `json:"target_lsn,omitempty"`
	Latest     bool       `json:"latest,omitempty"`
}

func viewRestore(r state.Restore) restoreView {
	if r.RestoreType == "" {
		r.RestoreType = engine.RestoreFull
	}
	return restoreView{ID: r.ID, BackupID: r.BackupID, TargetConnection: r.TargetConnection,
		TargetDatabase: r.TargetDatabase, DropExisting: r.DropExisting, NoPrivileges: r.NoPrivileges, RestoreType: r.RestoreType, TargetDir: r.TargetDir, Drill: r.Drill, Status: r.Status,
		DurationMs: r.DurationMs, LogOutput: r.LogOutput, StartedAt: r.StartedAt, CompletedAt: r.CompletedAt,
		CreatedAt: r.CreatedAt, PointInTime: r.PointInTime, TargetTime: r.TargetTime, TargetLSN: r.TargetLSN, Latest: r.Latest}
}

// listRestores lists restores newest first.
func (s *server) listRestores(r *http.Request, _ httprouter.Params) (any, error) {
	p, err := pageOf(r)
	if err != nil {
		return nil, err
	}
	var (
		win   []state.Restore
		total int
	)
	err = s.store.View(func(tx *state.Tx) (err error) {
		win, total, err = state.Page[state.Restore](tx, p.offset, p.limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list restores: %w", err)
	}
	return pagedViews(win, total, viewRestore), nil
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
	return liveRestore{viewRestore(r), s.progressOf(r.ID)}, nil
}
