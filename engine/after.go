package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jagad/jagad/engine/notify"
	"github.com/jagad/jagad/state"
)

// notifyTimeout bounds the delivery of one event to all its targets.
const notifyTimeout = 2 * time.Minute

// afterBackup runs what follows a finished backup: notifications, and for a
// successful scheduled backup, retention and verification.
func (e *Engine) afterBackup(b state.Backup) {
	if b.Status == state.StatusSuccess {
		e.refreshStorageBytes()
	}
	kind := notify.KindBackupFailed
	if b.Status == state.StatusSuccess {
		kind = notify.KindBackupSucceeded
	}
	want := (b.Status == state.StatusSuccess && b.NotifyOnSuccess) || (b.Status != state.StatusSuccess && b.NotifyOnFailure)
	var listed []string
	if want {
		listed = b.NotifTargetIDs
	}
	e.dispatch(backupEvent(kind, b), listed)
	e.afterCopies(b)
	if b.Status != state.StatusSuccess || b.ScheduleID == "" {
		return
	}
	// The one read of the schedule after its run (which loaded it once and
	// passed it along): deliberately fresh, not the record the run started
	// with. A backup can take hours; if the schedule was removed meanwhile,
	// its backups stay and are not verified or pruned here (the hourly sweep
	// applies the policy its newest backup recorded), and a verify or retention
	// change made meanwhile applies now, as it would at the next run. The
	// backup itself finished on the config it started with.
	var sch state.Schedule
	err := e.store.View(func(tx *state.Tx) error {
		var err error
		sch, err = state.Get[state.Schedule](tx, b.ScheduleID)
		return err
	})
	if err != nil {
		return // schedule removed meanwhile: its backups stay
	}
	if sch.VerifyEnabled {
		e.verifyNow(e.ctx, b.ID, true)
	}
	e.applyRetention(e.ctx, sch)
	e.maybeDrill(e.ctx, sch, b)
}

func backupEvent(kind string, b state.Backup) notify.Event {
	ev := notify.Event{
		Kind: kind, Status: b.Status, BackupID: b.ID, Schedule: b.ScheduleName,
		Connection: b.ConnectionName, Database: b.DatabaseName, DBType: b.DBType,
		BackupType: b.BackupType, StoragePath: b.StoragePath, SizeBytes: b.SizeBytes,
		DurationMs: b.DurationMs, Log: b.LogOutput,
	}
	if b.Status != state.StatusSuccess {
		ev.Error = failureLine(b.LogOutput)
	}
	if b.StartedAt != nil {
		ev.StartedAt = *b.StartedAt
	}
	if b.CompletedAt != nil {
		ev.CompletedAt = *b.CompletedAt
	}
	return ev
}

// dispatch sends ev to the listed targets and to every target that
// subscribed to ev.Kind through its events list. A failed notification is
// logged and counted; it never changes the outcome of the job.
func (e *Engine) dispatch(ev notify.Event, listed []string) {
	var targets []state.Notification
	err := e.store.View(func(tx *state.Tx) error {
		all, err := state.List[state.Notification](tx)
		if err != nil {
			return err
		}
		in := map[string]bool{}
		for _, id := range listed {
			in[id] = true
		}
		for _, n := range all {
			if in[n.ID] || (len(n.Events) > 0 && notify.WantsEvent(n.Events, ev.Kind)) {
				targets = append(targets, n)
			}
		}
		return nil
	})
	if err != nil {
		e.log.Error("load notification targets", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(e.ctx, notifyTimeout)
	defer cancel()
	// Targets are independent: a slow or retrying one does not hold up the others.
	var wg sync.WaitGroup
	for _, n := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.send(ctx, n, ev); err != nil {
				e.log.Warn("notification failed", "target", n.Name, "type", n.NotifType, "event", ev.Kind,
					"backup", ev.BackupID, "err", err)
				return
			}
			e.log.Info("notification sent", "target", n.Name, "type", n.NotifType, "event", ev.Kind, "backup", ev.BackupID)
		}()
	}
	wg.Wait()
}

// send delivers one event to one target and counts the result.
func (e *Engine) send(ctx context.Context, n state.Notification, ev notify.Event) error {
	cfg, err := notify.ParseConfigJSON(n.NotifType, n.ConfigJSON.Reveal())
	if err == nil {
		err = e.notify.Send(ctx, notify.Target{Name: n.Name, Type: n.NotifType, Config: cfg}, ev)
	}
	result := "sent"
	if err != nil {
		result = "failed"
	}
	e.metrics.notifications.WithLabelValues(n.NotifType, result).Inc()
	if err != nil {
		return fmt.Errorf("notification %q: %w", n.Name, err)
	}
	return nil
}

// NotifyConfigFailed tells subscribers of config.failed that a reload failed.
func (e *Engine) NotifyConfigFailed(err error) {
	e.goJob(func(context.Context) {
		e.dispatch(notify.Event{Kind: notify.KindConfigFailed, Status: "failed", Error: err.Error()}, nil)
	})
}

// failureLine is the last line of a job log that says why it failed (the
// log is already scrubbed of secrets), or "".
func failureLine(log string) string {
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		for _, p := range []string{"BACKUP FAILED: ", "SCHEDULE ERROR: ", "RECOVERY: "} {
			if j := strings.Index(lines[i], p); j >= 0 {
				return strings.TrimSpace(lines[i][j+len(p):])
			}
		}
	}
	return ""
}
