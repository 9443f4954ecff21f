package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jagad/jagad/engine/dbclient"
)

// The supervision shared by the continuous archivers (walarchive.go:
// pg_receivewal; binlog_archive.go: mariadb-binlog): one goroutine per
// archiving connection, started, restarted and stopped to match the
// connections (archiveRuns), and the archiving tool's stderr turned into
// log records with secrets scrubbed (toolLog). Inside each goroutine both
// run pgwal.Archiver: the tool kept running with backoff (1 s doubling to
// 1 min), a bounded spool, completed files uploaded oldest first and
// removed once stored, events for the metrics. superviseArchive is the
// same backoff for a step before it (the WAL archiver's slot creation).

// archiveRuns keeps one archiver per connection running as wanted.
type archiveRuns struct {
	mu      sync.Mutex
	running map[string]*archiveRun // by connection ID
}

type archiveRun struct {
	want   archiveWant
	cancel context.CancelFunc
	done   chan struct{}
}

// archiveWant is the archiver a connection wants.
type archiveWant struct {
	// key is what the archiver is started from: when it changes, the
	// running archiver is stopped and a new one started.
	key string
	// run archives until ctx ends.
	run func(ctx context.Context)
	// stopped, when set, is called once a run has ended: removed is true
	// when the connection wants no archiver any more (false: a restart).
	stopped func(removed bool)
}

// archiveKey is the key of what an archiver is started from: a digest, so
// that no secret it holds is kept in the clear.
func archiveKey(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

func newArchiveRuns() *archiveRuns { return &archiveRuns{running: map[string]*archiveRun{}} }

// sync stops the archivers no longer wanted or wanted differently (waiting
// for each to end), then starts the wanted ones not running, as loops of
// e (waited for by Stop). Nothing starts once e is stopping.
func (a *archiveRuns) sync(e *Engine, want map[string]archiveWant) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, r := range a.running {
		w, ok := want[id]
		if ok && w.key == r.want.key {
			continue
		}
		r.cancel()
		<-r.done
		delete(a.running, id)
		if r.want.stopped != nil {
			r.want.stopped(!ok)
		}
	}
	if e.ctx.Err() != nil {
		return
	}
	for id, w := range want {
		if _, ok := a.running[id]; ok {
			continue
		}
		ctx, cancel := context.WithCancel(e.ctx)
		r := &archiveRun{want: w, cancel: cancel, done: make(chan struct{})}
		a.running[id] = r
		e.loops.Add(1)
		go func() {
			defer e.loops.Done()
			defer close(r.done)
			w.run(ctx)
		}()
	}
}

// superviseArchive calls once until it returns nil or ctx ends. After a
// failure, failed is told the error and the wait before the next call: 1 s
// at first, doubling up to maxWait, and back to 1 s after a call that ran
// longer than resetAfter (it worked for a while).
func superviseArchive(ctx context.Context, maxWait, resetAfter time.Duration,
	once func(ctx context.Context) error, failed func(err error, wait time.Duration)) {
	wait := time.Second
	for ctx.Err() == nil {
		start := time.Now()
		err := once(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		if time.Since(start) > resetAfter {
			wait = time.Second
		}
		failed(err, wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, maxWait)
	}
}

// toolLog turns an archiving tool's stderr into log records, a line each,
// with the connection's secrets scrubbed.
type toolLog struct {
	log     *slog.Logger
	level   slog.Level
	tool    string // pg_receivewal, mariadb-binlog
	secrets []string
}

func (w toolLog) Write(p []byte) (int, error) {
	for _, line := range strings.Split(string(p), "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		for _, s := range w.secrets {
			line = dbclient.Scrub(line, s)
		}
		w.log.Log(context.Background(), w.level, w.tool, "line", line)
	}
	return len(p), nil
}
