package api

import (
	"context"
	"io"
	"time"

	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// Engine is what the API needs from the backup engine. Errors may be
// classified with package apierr; unclassified errors become 500s.
type Engine interface {
	// StartBackup records and starts a one-shot backup; it returns once the
	// backup is queued or running (the work runs on the engine's context).
	StartBackup(ctx context.Context, req BackupRequest) (state.Backup, error)
	// DeleteBackup removes the stored object, its manifest, then the record.
	DeleteBackup(ctx context.Context, id string) error
	// OpenBackup streams the stored object and returns its size.
	OpenBackup(ctx context.Context, id string) (io.ReadCloser, int64, error)
	// Verify starts an asynchronous verification and returns once started.
	Verify(ctx context.Context, id string) error
	// Restore starts a restore of backupID and returns its record.
	Restore(ctx context.Context, backupID string, req RestoreRequest) (state.Restore, error)
	// RunSchedule triggers a schedule now, bypassing its cron timer.
	RunSchedule(ctx context.Context, scheduleID string) error
	// TestStorage checks that a storage provider is reachable.
	TestStorage(ctx context.Context, providerID string) error
	// TestNotification sends a test message through a notification target.
	TestNotification(ctx context.Context, notifID string) error
	// ScheduleInfo reports a schedule's next and last run and the last status.
	ScheduleInfo(scheduleID string) (next, last *time.Time, lastStatus string)
}

// BackupRequest mirrors the body of POST /api/backups (defaults applied).
type BackupRequest struct {
	ConnectionID      string
	DatabaseID        string
	BackupType        string // full | incremental
	ScheduleID        string
	StorageProviderID string // empty: the default provider
	NotifTargetIDs    []string
	NotifyOnSuccess   bool
	NotifyOnFailure   bool
}

// RestoreRequest mirrors the body of POST /api/backups/{id}/restore.
type RestoreRequest struct {
	TargetConnection string // empty: the backup's own connection
	TargetDatabase   string // empty: the backup's database name
	DropExisting     bool
	NoPrivileges     bool   // PostgreSQL: restore without GRANT/REVOKE (pg_restore --no-privileges)
	RestoreType      string // "" or "full"; "data-only" (PostgreSQL: pg_restore --data-only)
}

// ConfigController is what the API needs from the reconciler.
type ConfigController interface {
	Status() (state.ConfigStatus, error)
	// Plan diffs a jagad.yaml document against the current state; nothing is applied.
	Plan(ctx context.Context, yaml []byte) (PlanView, error)
	// Reload re-reads the config file and applies it.
	Reload(ctx context.Context, confirmPrune bool) (PlanView, error)
}

// PlanView is a reconcile plan as the API shows it. Items is filled by the
// reconciler; `jagad plan` reads each item's "action", "kind", "name" and
// "fields" keys (see PlanItem).
type PlanView struct {
	Changes int    `json:"changes"`
	Held    string `json:"held,omitempty"`
	Summary string `json:"summary"`
	Items   any    `json:"items"`
}

// PlanItem is the shape of one plan entry that `jagad plan` prints. The
// reconciler may use its own type as long as it marshals to these keys.
type PlanItem struct {
	Action string   `json:"action"` // create | update | adopt | prune | unchanged
	Kind   string   `json:"kind"`   // connection | storage | notification | schedule | settings | ...
	Name   string   `json:"name"`
	Fields []string `json:"fields,omitempty"` // update: the fields that change
}

// Health is what GET /api/health reports beyond status and version.
type Health struct {
	Encryption    bool `json:"encryption"`
	Providers     bool `json:"providers"`
	LegacyStorage bool `json:"legacy_storage"`
}

// NotReadyEngine answers every action with 503 "backup engine not available
// yet"; it never pretends an action succeeded.
type NotReadyEngine struct{}

var _ Engine = NotReadyEngine{}

var errNoEngine = fault.Unavailable("backup engine not available yet")

// StartBackup implements Engine.
func (NotReadyEngine) StartBackup(context.Context, BackupRequest) (state.Backup, error) {
	return state.Backup{}, errNoEngine
}

// DeleteBackup implements Engine.
func (NotReadyEngine) DeleteBackup(context.Context, string) error { return errNoEngine }

// OpenBackup implements Engine.
func (NotReadyEngine) OpenBackup(context.Context, string) (io.ReadCloser, int64, error) {
	return nil, 0, errNoEngine
}

// Verify implements Engine.
func (NotReadyEngine) Verify(context.Context, string) error { return errNoEngine }

// Restore implements Engine.
func (NotReadyEngine) Restore(context.Context, string, RestoreRequest) (state.Restore, error) {
	return state.Restore{}, errNoEngine
}

// RunSchedule implements Engine.
func (NotReadyEngine) RunSchedule(context.Context, string) error { return errNoEngine }

// TestStorage implements Engine.
func (NotReadyEngine) TestStorage(context.Context, string) error { return errNoEngine }

// TestNotification implements Engine.
func (NotReadyEngine) TestNotification(context.Context, string) error { return errNoEngine }

// ScheduleInfo implements Engine.
func (NotReadyEngine) ScheduleInfo(string) (next, last *time.Time, lastStatus string) {
	return nil, nil, ""
}
