package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/state"
)

// GET /api/events: Server-Sent Events for the dashboard (one connection per
// tab). Each client is served by its request's own goroutine, which ends
// when the client goes away, the server shuts down (Deps.Done) or a write
// fails; nothing else is started per client.
//
// Events:
//
//	event: change    data: {"kind":"backup","id":"bck_…","change":"created"}
//	                 one per record a commit created, updated or deleted (bursts
//	                 coalesce per record); singletons (settings, config_status) have
//	                 no id; "change":"changed" without an id means too many records
//	                 of the kind changed to name them: re-read them all
//	event: progress  data: [Progress, ...]        live progress of every running job, at most
//	                                              every 250 ms, and every second while jobs run
//	: ping                                        a heartbeat comment every 15 s
//
// The stream starts with "retry: 2000" and one progress event.

// ProgressSource is the engine's live progress of running jobs (package
// engine's progress.go); nil in Deps: no progress is reported.
type ProgressSource interface {
	Progress(id string) (engine.Progress, bool)
	RunningProgress() []engine.Progress
	SubscribeProgress() (<-chan struct{}, func())
}

// eventKinds are the record kinds the stream reports.
var eventKinds = [...]state.Kind{state.KindBackup, state.KindRestore, state.KindSchedule,
	state.KindConfigStatus, state.KindConnection, state.KindProvider, state.KindSettings, state.KindNotification}

// defaultHeartbeat is the heartbeat period of /api/events.
const defaultHeartbeat = 15 * time.Second

// progressOf is a running job's live progress, or nil.
func (s *server) progressOf(id string) *engine.Progress {
	if s.progress == nil {
		return nil
	}
	p, ok := s.progress.Progress(id)
	if !ok {
		return nil
	}
	return &p
}

// runningProgress is the progress of every running job (never nil).
func (s *server) runningProgress() []engine.Progress {
	if s.progress == nil {
		return []engine.Progress{}
	}
	return s.progress.RunningProgress()
}

// liveBackup is a backup with its live progress while it runs and its
// verify and drill history, newest first (additive: the reference's fields
// are unchanged).
type liveBackup struct {
	backupView
	Progress *engine.Progress    `json:"progress,omitempty"`
	Checks   []state.BackupCheck `json:"checks"`
	// Capabilities: what the backup supports beyond a whole restore (a
	// point in time when its connection archives WAL or binary logs).
	Capabilities engine.Capabilities `json:"capabilities"`
	// WALSpan: a PostgreSQL base backup's WAL archived after it (GET
	// /api/backups/{id} only).
	WALSpan *engine.WALSpan `json:"wal_span,omitempty"`
}

// liveBackup is GET /api/backups/{id}'s view of b.
func (s *server) liveBackup(b state.Backup) liveBackup {
	checks := b.Checks
	if checks == nil {
		checks = []state.BackupCheck{}
	}
	var conn *state.Connection
	_ = s.store.View(func(tx *state.Tx) error { // a connection gone (or unreadable) declares no archive
		c, err := state.Get[state.Connection](tx, b.ConnectionID)
		if err == nil {
			conn = &c
		}
		return nil
	})
	return liveBackup{backupView: viewBackup(b), Progress: s.progressOf(b.ID), Checks: checks, Capabilities: engine.CapabilitiesOf(b, conn)}
}

type liveRestore struct {
	restoreView
	Progress *engine.Progress `json:"progress,omitempty"`
}

func (s *server) events(r *http.Request, _ httprouter.Params) (any, error) {
	return streamer(func(w http.ResponseWriter) error { return s.streamEvents(w, r) }), nil
}

func (s *server) streamEvents(w http.ResponseWriter, r *http.Request) error {
	rc := http.NewResponseController(w)
	// The stream outlives any write deadline the server may set.
	_ = rc.SetWriteDeadline(time.Time{})
	changes := s.store.SubscribeRecords(eventKinds[:]...)
	defer changes.Stop()
	var prog <-chan struct{} // nil: never ready
	if s.progress != nil {
		ch, stop := s.progress.SubscribeProgress()
		defer stop()
		prog = ch
	}
	beat := time.NewTicker(s.heartbeat)
	defer beat.Stop()
	poll := time.NewTicker(time.Second)
	defer poll.Stop()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	running := 0
	send := func(event string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return err
		}
		return rc.Flush()
	}
	sendProgress := func() error {
		p := s.runningProgress()
		running = len(p)
		return send("progress", p)
	}
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil {
		return nil
	}
	if err := sendProgress(); err != nil {
		return nil // the client went away
	}
	for {
		var err error
		select {
		case <-r.Context().Done():
			return nil
		case <-s.done:
			return nil
		case <-beat.C:
			if _, err = fmt.Fprint(w, ": ping\n\n"); err == nil {
				err = rc.Flush()
			}
		case <-prog:
			err = sendProgress()
		case <-poll.C:
			if running > 0 {
				err = sendProgress()
			}
		case <-changes.Ready():
			for _, c := range changes.Take() {
				if err = send("change", c); err != nil {
					break
				}
			}
		}
		if err != nil {
			return nil // a failed write means the client is gone
		}
	}
}
