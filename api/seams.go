package api

import (
	"context"
	"io"
	"time"

	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/reconcile"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// Engine is what the API needs from the backup engine (*engine.Engine);
// handler tests pass a fake. Errors may be classified with package fault;
// unclassified errors become 500s.
type Engine interface {
	// StartBackup records and starts a one-shot backup; it returns once the
	// backup is queued or running (the work runs on the engine's context).
	StartBackup(ctx context.Context, req engine.BackupRequest) (state.Backup, error)
	// DeleteBackup removes the stored object, its manifest, then the record.
	DeleteBackup(ctx context.Context, id string) error
	// OpenBackup streams the stored object and returns its size.
	OpenBackup(ctx context.Context, id string) (io.ReadCloser, int64, error)
	// Verify starts an asynchronous verification and returns once started;
	// deep: deep when the backup's key is available, else quick.
	Verify(ctx context.Context, id string, deep bool) error
	// Restore starts a restore of backupID and returns its record.
	Restore(ctx context.Context, backupID string, req engine.RestoreRequest) (state.Restore, error)
	// RunSchedule triggers a schedule now, bypassing its cron timer.
	RunSchedule(ctx context.Context, scheduleID string) error
	// TestStorage checks that a storage provider is reachable.
	TestStorage(ctx context.Context, providerID string) error
	// TestNotification sends a test message through a notification target.
	TestNotification(ctx context.Context, notifID string) error
	// ScheduleInfo reports a schedule's next and last run and the last status.
	ScheduleInfo(scheduleID string) (next, last *time.Time, lastStatus string)
	// VerifyArchive checks a connection's WAL or binary log archive and
	// reports its gaps and damaged files.
	VerifyArchive(ctx context.Context, connID string) (engine.ArchiveReport, error)
	// WALSpanOf is the WAL archived after a PostgreSQL base backup (nil:
	// not a base of a connection archiving its WAL).
	WALSpanOf(ctx context.Context, b state.Backup) (*engine.WALSpan, error)
	// WALIncrementals are the WAL spans since each archiving PostgreSQL
	// connection's newest base backup (the stats' incrementals).
	WALIncrementals(ctx context.Context) ([]engine.WALSpan, error)
}

var _ Engine = (*engine.Engine)(nil)

// ConfigController is what the API needs from the reconciler
// (*reconcile.Reconciler); handler tests pass a fake.
type ConfigController interface {
	Status() state.ConfigStatus
	// PlanBytes diffs a jagad.yaml document against the current state;
	// nothing is applied.
	PlanBytes(yaml []byte) (*reconcile.Plan, error)
	// Reload re-reads the config file and applies it.
	Reload(ctx context.Context, trigger string, confirmPrune bool) reconcile.Result
}

var _ ConfigController = (*reconcile.Reconciler)(nil)

// RestartNotes names what differs between a configuration and the one
// the daemon started with but takes effect only when it restarts (the
// cluster: section), one note each: "cluster.group changed". The rest of
// the configuration applies as usual.
type RestartNotes interface {
	// InForce is for the file in force (GET /api/config/status).
	InForce() []string
	// ForDocument is for a posted jagad.yaml that PlanBytes accepted.
	ForDocument(yaml []byte) []string
}

// PlanView is a reconcile plan as POST /api/config/plan and
// POST /api/config/reload show it, and as `jagad plan` reads it.
type PlanView struct {
	Changes int              `json:"changes"`
	Held    string           `json:"held,omitempty"`
	Summary string           `json:"summary"`
	Items   []reconcile.Item `json:"items"`
	// NeedsRestart lists the changes that apply only at a restart
	// (RestartNotes): "cluster.group changed".
	NeedsRestart []string `json:"needs_restart,omitempty"`
}

// planView shows p; a nil plan (a reload that failed before planning) is
// the zero view.
func planView(p *reconcile.Plan) PlanView {
	if p == nil {
		return PlanView{}
	}
	return PlanView{Changes: p.Changes(), Held: p.Held, Summary: p.Summary(), Items: p.Items}
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
func (NotReadyEngine) StartBackup(context.Context, engine.BackupRequest) (state.Backup, error) {
	return state.Backup{}, errNoEngine
}

// DeleteBackup implements Engine.
func (NotReadyEngine) DeleteBackup(context.Context, string) error { return errNoEngine }

// OpenBackup implements Engine.
func (NotReadyEngine) OpenBackup(context.Context, string) (io.ReadCloser, int64, error) {
	return nil, 0, errNoEngine
}

// Verify implements Engine.
func (NotReadyEngine) Verify(context.Context, string, bool) error { return errNoEngine }

// Restore implements Engine.
func (NotReadyEngine) Restore(context.Context, string, engine.RestoreRequest) (state.Restore, error) {
	return state.Restore{}, errNoEngine
}

// RunSchedule implements Engine.
func (NotReadyEngine) RunSchedule(context.Context, string) error { return errNoEngine }

// TestStorage implements Engine.
func (NotReadyEngine) TestStorage(context.Context, string) error { return errNoEngine }

// TestNotification implements Engine.
func (NotReadyEngine) TestNotification(context.Context, string) error { return errNoEngine }

// VerifyArchive implements Engine.
func (NotReadyEngine) VerifyArchive(context.Context, string) (engine.ArchiveReport, error) {
	return engine.ArchiveReport{}, errNoEngine
}

// WALSpanOf implements Engine: no span while the engine is not ready.
func (NotReadyEngine) WALSpanOf(context.Context, state.Backup) (*engine.WALSpan, error) {
	return nil, nil
}

// WALIncrementals implements Engine: none while the engine is not ready.
func (NotReadyEngine) WALIncrementals(context.Context) ([]engine.WALSpan, error) { return nil, nil }

// ScheduleInfo implements Engine.
func (NotReadyEngine) ScheduleInfo(string) (next, last *time.Time, lastStatus string) {
	return nil, nil, ""
}
