package api

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/jagad/jagad/state"
)

type scheduleView struct {
	ID                string             `json:"id"`
	Name              string             `json:"name"`
	ConnectionID      string             `json:"connection_id"`
	DatabaseID        string             `json:"database_id"`
	BackupType        string             `json:"backup_type"`
	CronExpr          string             `json:"cron_expr"`
	StorageProviderID string             `json:"storage_provider_id"`
	EncryptionEnabled bool               `json:"encryption_enabled"`
	EncryptionKeyID   string             `json:"encryption_key_id"`
	VerifyEnabled     bool               `json:"verify_enabled"`
	RetentionFull     int                `json:"retention_full"`
	RetentionIncr     int                `json:"retention_incr"`
	KeepDaily         int                `json:"keep_daily"`
	KeepWeekly        int                `json:"keep_weekly"`
	KeepMonthly       int                `json:"keep_monthly"`
	KeepYearly        int                `json:"keep_yearly"`
	KeepWithin        state.Duration     `json:"keep_within"`
	NotifTargetIDs    []string           `json:"notif_target_ids"`
	NotifyOnSuccess   bool               `json:"notify_on_success"`
	NotifyOnFailure   bool               `json:"notify_on_failure"`
	Enabled           bool               `json:"enabled"` // with the override applied
	Override          *state.Override    `json:"override"`
	Timeout           state.Duration     `json:"timeout"`
	MaxAge            state.Duration     `json:"max_age"`
	RestoreTest       *state.RestoreTest `json:"restore_test"`
	CopiesTo          []state.CopyTarget `json:"copies_to"`
	NextRunAt         *time.Time         `json:"next_run_at"`
	LastRunAt         *time.Time         `json:"last_run_at"`
	LastStatus        string             `json:"last_status"`
	ManagedBy         state.ManagedBy    `json:"managed_by"`
	CreatedAt         time.Time          `json:"created_at"`
	UpdatedAt         time.Time          `json:"updated_at"`
}

func (s *server) viewSchedule(sc state.Schedule) scheduleView {
	next, last, status := s.engine.ScheduleInfo(sc.ID)
	return scheduleView{
		ID: sc.ID, Name: sc.Name, ConnectionID: sc.ConnectionID, DatabaseID: sc.DatabaseID,
		BackupType: sc.BackupType, CronExpr: sc.CronExpr, StorageProviderID: sc.StorageProviderID,
		EncryptionEnabled: sc.EncryptionEnabled, EncryptionKeyID: sc.EncryptionKeyID, VerifyEnabled: sc.VerifyEnabled,
		RetentionFull: sc.RetentionFull, RetentionIncr: sc.RetentionIncr, KeepDaily: sc.KeepDaily,
		KeepWeekly: sc.KeepWeekly, KeepMonthly: sc.KeepMonthly, KeepYearly: sc.KeepYearly, KeepWithin: sc.KeepWithin,
		NotifTargetIDs: nonNil(sc.NotifTargetIDs), NotifyOnSuccess: sc.NotifyOnSuccess, NotifyOnFailure: sc.NotifyOnFailure,
		Enabled: sc.EffectiveEnabled(), Override: sc.Override, Timeout: sc.Timeout, MaxAge: sc.MaxAge,
		RestoreTest: sc.RestoreTest, CopiesTo: nonNil(sc.CopiesTo), NextRunAt: next, LastRunAt: last, LastStatus: status,
		ManagedBy: sc.ManagedBy, CreatedAt: sc.CreatedAt, UpdatedAt: sc.UpdatedAt,
	}
}

func (s *server) listSchedules(r *http.Request, _ httprouter.Params) (any, error) {
	connID := r.URL.Query().Get("connection_id")
	p, err := pageOf(r)
	if err != nil {
		return nil, err
	}
	var (
		win   []state.Schedule
		total int
	)
	err = s.store.View(func(tx *state.Tx) (err error) {
		if connID == "" {
			win, total, err = state.Page[state.Schedule](tx, p.offset, p.limit)
		} else {
			// By connection: its own list order, so only the page is read.
			win, total, err = state.SchedulePage(tx, connID, p.offset, p.limit)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	return pagedViews(win, total, s.viewSchedule), nil
}

func (s *server) readSchedule(id string) (state.Schedule, error) {
	var sc state.Schedule
	err := s.store.View(func(tx *state.Tx) (err error) {
		sc, err = getRec[state.Schedule](tx, id, wordSchedule)
		return err
	})
	return sc, err
}

func (s *server) getSchedule(_ *http.Request, p httprouter.Params) (any, error) {
	sc, err := s.readSchedule(p.ByName("id"))
	if err != nil {
		return nil, err
	}
	return s.viewSchedule(sc), nil
}

func (s *server) createSchedule(r *http.Request, _ httprouter.Params) (any, error) {
	var in scheduleInput
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	sc := state.Schedule{Meta: apiMeta(state.KindSchedule, s.now().UTC())}
	if err := in.apply(&sc.ScheduleSpec); err != nil {
		return nil, err
	}
	if in.CronExpr == nil {
		return nil, missing("cron_expr")
	}
	err := s.store.Update(func(tx *state.Tx) error {
		if err := checkRefs(tx, refs{connection: sc.ConnectionID, database: sc.DatabaseID}); err != nil {
			return err
		}
		if err := scheduleDefaults(tx, &sc.ScheduleSpec, in); err != nil {
			return err
		}
		if err := validateSchedule(tx, &sc.ScheduleSpec); err != nil {
			return err
		}
		if err := uniqueName(tx, sc.ID, sc.Name, wordSchedule, schedKey); err != nil {
			return err
		}
		return state.Put(tx, sc)
	})
	if err != nil {
		return nil, err
	}
	return created(s.viewSchedule(sc)), nil
}

// updateSchedule updates an API-made schedule. On a file-managed schedule
// only `enabled` may change: it becomes a runtime override (sending the
// file's value clears it); any other change is a 409.
func (s *server) updateSchedule(r *http.Request, p httprouter.Params) (any, error) {
	var in scheduleInput
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	var sc state.Schedule
	err := s.store.Update(func(tx *state.Tx) (err error) {
		if sc, err = getRec[state.Schedule](tx, p.ByName("id"), wordSchedule); err != nil {
			return err
		}
		next := sc.ScheduleSpec
		next.NotifTargetIDs = slices.Clone(sc.NotifTargetIDs)
		if sc.ManagedBy == state.ManagedByFile {
			next.Enabled = sc.EffectiveEnabled()
		}
		if err := in.apply(&next); err != nil {
			return err
		}
		if sc.ManagedBy == state.ManagedByFile {
			return overrideEnabled(tx, &sc, next)
		}
		if next.Name == "" {
			if err := deriveName(tx, &next); err != nil {
				return err
			}
		}
		if err := validateSchedule(tx, &next); err != nil {
			return err
		}
		if err := uniqueName(tx, sc.ID, next.Name, wordSchedule, schedKey); err != nil {
			return err
		}
		sc.ScheduleSpec = next
		sc.UpdatedAt = s.now().UTC()
		return state.Put(tx, sc)
	})
	if err != nil {
		return nil, err
	}
	return s.viewSchedule(sc), nil
}

func (s *server) deleteSchedule(_ *http.Request, p httprouter.Params) (any, error) {
	err := s.store.Update(func(tx *state.Tx) error {
		sc, err := getRec[state.Schedule](tx, p.ByName("id"), wordSchedule)
		if err != nil {
			return err
		}
		if err := checkOwned(sc.Meta, wordSchedule, sc.Name); err != nil {
			return err
		}
		return state.Delete[state.Schedule](tx, sc.ID)
	})
	if err != nil {
		return nil, err
	}
	return noContent, nil
}

type triggeredResponse struct {
	Status     string `json:"status"`
	ScheduleID string `json:"schedule_id"`
}

// runSchedule triggers a schedule now; allowed on any schedule.
func (s *server) runSchedule(r *http.Request, p httprouter.Params) (any, error) {
	sc, err := s.readSchedule(p.ByName("id"))
	if err != nil {
		return nil, err
	}
	if err := s.engine.RunSchedule(r.Context(), sc.ID); err != nil {
		return nil, err
	}
	return triggeredResponse{Status: "triggered", ScheduleID: sc.ID}, nil
}
