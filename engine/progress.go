package engine

import (
	"context"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

// Live progress of running backups and restores. It is kept in memory only:
// the store is written when a job changes status, never on every byte.
// Counters are atomics bumped by the pipeline's goroutines; readers (the API,
// the dashboard's event stream) take snapshots. Subscribers learn that some
// progress changed through one-slot channels, at most every progressTick.

// Progress phases.
const (
	PhaseQueued  = "queued"
	PhaseDump    = "dump"    // the dump tool runs; its bytes stream to storage
	PhaseUpload  = "upload"  // the tool is done; the last bytes are flushed and stored
	PhaseVerify  = "verify"  // checking the stored object (backup) or pass 1 of a restore
	PhaseRestore = "restore" // streaming the object into the restore tool
	PhaseCheck   = "check"   // a drill compares the restored row counts with the backup's
)

// Progress is a snapshot of one running job.
type Progress struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"` // backup | restore | drill
	Phase string `json:"phase"`
	// BytesRead: backup: raw bytes read from the dump tool; restore: stored
	// bytes read back from storage in the current phase.
	BytesRead int64 `json:"bytes_read"`
	// BytesStored: backup: bytes written to storage so far.
	BytesStored int64 `json:"bytes_stored"`
	// RateBytesPerSec is BytesRead over the time since the job started.
	RateBytesPerSec float64 `json:"rate_bytes_per_sec"`
	ElapsedMs       int64   `json:"elapsed_ms"`
	// EstimatedTotalBytes: backup: the raw size of the last successful
	// backup of the same database; restore and drill: the stored size of
	// the object.
	// 0 when unknown.
	EstimatedTotalBytes int64 `json:"estimated_total_bytes,omitempty"`
	// Percent is BytesRead / EstimatedTotalBytes, capped at 99 while running;
	// absent when there is no estimate.
	Percent   *float64  `json:"percent,omitempty"`
	StartedAt time.Time `json:"started_at"`
	// Label names the job for people: schedule or database.
	Label string `json:"label,omitempty"`
}

// progressTick bounds how often subscribers are signalled.
const progressTick = 250 * time.Millisecond

// jobProgress is one job's live counters.
type jobProgress struct {
	id, kind, label string
	start           time.Time
	estimate        atomic.Int64
	phase           atomic.Value // string
	read, stored    atomic.Int64
	// dumpBytes, storedBytes: jagad_backup_bytes_total{stage}; nil for restores.
	dumpBytes, storedBytes prometheus.Counter
	board                  *progressBoard
}

func (j *jobProgress) setPhase(p string) {
	j.phase.Store(p)
	if j.board != nil {
		j.board.touch(true)
	}
}

func (j *jobProgress) touch() {
	if j.board != nil {
		j.board.touch(false)
	}
}

// addRead counts raw bytes (and feeds the bytes metric while running).
func (j *jobProgress) addRead(n int) {
	j.read.Add(int64(n))
	j.touch()
	if j.dumpBytes != nil {
		j.dumpBytes.Add(float64(n))
	}
}

func (j *jobProgress) addStored(n int) {
	j.stored.Add(int64(n))
	j.touch()
	if j.storedBytes != nil {
		j.storedBytes.Add(float64(n))
	}
}

func (j *jobProgress) snapshot(now time.Time) Progress {
	p := Progress{ID: j.id, Kind: j.kind, Label: j.label, BytesRead: j.read.Load(),
		BytesStored: j.stored.Load(), StartedAt: j.start, EstimatedTotalBytes: j.estimate.Load()}
	p.Phase, _ = j.phase.Load().(string)
	el := now.Sub(j.start)
	p.ElapsedMs = el.Milliseconds()
	if s := el.Seconds(); s > 0 {
		p.RateBytesPerSec = float64(p.BytesRead) / s
	}
	if p.EstimatedTotalBytes > 0 {
		pct := min(99, 100*float64(p.BytesRead)/float64(p.EstimatedTotalBytes))
		p.Percent = &pct
	}
	return p
}

// progressBoard holds the live progress of every running job.
type progressBoard struct {
	now  func() time.Time
	mu   sync.Mutex
	jobs map[string]*jobProgress
	subs map[int]chan struct{}
	next int
	// verifyStart: when each running verification started (its history
	// entry's duration); taken by takeStart.
	verifyStart map[string]time.Time
	last        atomic.Int64 // unix nanos of the last signal
}

func newProgressBoard(now func() time.Time) *progressBoard {
	return &progressBoard{now: now, jobs: map[string]*jobProgress{}, subs: map[int]chan struct{}{},
		verifyStart: map[string]time.Time{}}
}

// takeStart returns and forgets when the verification of backup id started.
func (b *progressBoard) takeStart(id string) (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.verifyStart[id]
	delete(b.verifyStart, id)
	return t, ok
}

// touch signals subscribers, at most once per progressTick unless force.
// Readers that want the last bytes of a stalled job poll (the event stream
// re-reads every second while jobs run).
func (b *progressBoard) touch(force bool) {
	now := time.Now().UnixNano()
	last := b.last.Load()
	if !force && now-last < int64(progressTick) {
		return
	}
	if !b.last.CompareAndSwap(last, now) && !force {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ch := range b.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (b *progressBoard) add(j *jobProgress) *jobProgress {
	j.board = b
	b.mu.Lock()
	b.jobs[j.id] = j
	b.mu.Unlock()
	b.touch(true)
	return j
}

func (b *progressBoard) remove(id string) {
	b.mu.Lock()
	delete(b.jobs, id)
	b.mu.Unlock()
	b.touch(true) // the end of a job is worth telling at once
}

// endRun ends the entry of a backup run that is still finishing (its
// verification done, its drill about to start): the drill shows its own
// progress. Entries of other jobs under the same ID stay.
func (b *progressBoard) endRun(id string) {
	b.mu.Lock()
	j := b.jobs[id]
	run := j != nil && j.dumpBytes != nil // made by trackBackup
	if run {
		delete(b.jobs, id)
	}
	b.mu.Unlock()
	if run {
		b.touch(true)
	}
}

func (b *progressBoard) get(id string) (Progress, bool) {
	b.mu.Lock()
	j := b.jobs[id]
	b.mu.Unlock()
	if j == nil {
		return Progress{}, false
	}
	return j.snapshot(b.now()), true
}

func (b *progressBoard) all() []Progress {
	b.mu.Lock()
	js := make([]*jobProgress, 0, len(b.jobs))
	for _, j := range b.jobs {
		js = append(js, j)
	}
	b.mu.Unlock()
	now := b.now()
	out := make([]Progress, 0, len(js))
	for _, j := range js {
		out = append(out, j.snapshot(now))
	}
	slices.SortFunc(out, func(a, b Progress) int { return a.StartedAt.Compare(b.StartedAt) })
	return out
}

func (b *progressBoard) subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	b.mu.Lock()
	id := b.next
	b.next++
	b.subs[id] = ch
	b.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, id)
			b.mu.Unlock()
		})
	}
}

// Progress returns the live progress of a running backup or restore.
func (e *Engine) Progress(id string) (Progress, bool) { return e.progress.get(id) }

// RunningProgress returns the progress of every running job, oldest first.
func (e *Engine) RunningProgress() []Progress { return e.progress.all() }

// SubscribeProgress returns a one-slot channel signalled (at most every
// 250 ms) after progress changed, and a func that unsubscribes.
func (e *Engine) SubscribeProgress() (<-chan struct{}, func()) { return e.progress.subscribe() }

// trackBackup starts the progress of a backup.
func (e *Engine) trackBackup(b state.Backup) *jobProgress {
	label := b.ScheduleName
	if label == "" {
		label = b.ConnectionName + "/" + b.DatabaseName
	}
	j := &jobProgress{id: b.ID, kind: "backup", label: label, start: e.now(),
		dumpBytes: e.metrics.bytes.WithLabelValues("dump"), storedBytes: e.metrics.bytes.WithLabelValues("stored")}
	j.setPhase(PhaseQueued)
	j.estimate.Store(e.estimateBackup(b))
	return e.progress.add(j)
}

// trackRestore starts the progress of a restore.
func (e *Engine) trackRestore(rec state.Restore, b state.Backup) *jobProgress {
	j := &jobProgress{id: rec.ID, kind: "restore", label: b.DatabaseName + " → " + rec.TargetDatabase, start: e.now()}
	j.setPhase(PhaseQueued)
	j.estimate.Store(b.StoredSizeBytes)
	return e.progress.add(j)
}

// trackDrill starts the progress of a restore drill: PhaseRestore while
// the object streams into the throwaway database, PhaseCheck while the
// row counts are compared.
func (e *Engine) trackDrill(rec state.Restore, b state.Backup, schedule string) *jobProgress {
	j := &jobProgress{id: rec.ID, kind: "drill", label: schedule + ": " + b.DatabaseName + " → " + rec.TargetDatabase, start: e.now()}
	j.setPhase(PhaseQueued)
	j.estimate.Store(b.StoredSizeBytes)
	return e.progress.add(j)
}

// trackVerify shows a verification as the backup's progress in
// PhaseVerify: it takes over the backup's own entry when the backup run is
// still finishing (verify_enabled), else adds one. done ends what it added.
func (e *Engine) trackVerify(b state.Backup) (*jobProgress, func()) {
	e.progress.mu.Lock()
	j := e.progress.jobs[b.ID]
	e.progress.verifyStart[b.ID] = e.now()
	e.progress.mu.Unlock()
	if j != nil {
		j.read.Store(0)
		j.estimate.Store(b.StoredSizeBytes)
		j.setPhase(PhaseVerify)
		return j, func() {}
	}
	label := b.ScheduleName
	if label == "" {
		label = b.ConnectionName + "/" + b.DatabaseName
	}
	j = &jobProgress{id: b.ID, kind: "backup", label: label, start: e.now()}
	j.setPhase(PhaseVerify)
	j.estimate.Store(b.StoredSizeBytes)
	e.progress.add(j)
	return j, func() { e.progress.remove(b.ID) }
}

// estimateBackup is the raw size of the last successful backup of the same
// database (0: none among the last 50).
func (e *Engine) estimateBackup(b state.Backup) int64 {
	var est int64
	_ = e.store.View(func(tx *state.Tx) error {
		bs, err := tx.ListBackups(state.BackupQuery{DatabaseID: b.DatabaseID, Limit: 50})
		for _, x := range bs {
			if x.Status == state.StatusSuccess && x.SizeBytes > 0 {
				est = x.SizeBytes
				break
			}
		}
		return err
	})
	return est
}

// progressWriter counts raw dump bytes on their way into the pipeline.
type progressWriter struct {
	w io.Writer
	j *jobProgress
}

func (p progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.j.addRead(n)
	return n, err
}

// ReadFrom lets a pipeline that reads by itself read the dump into its own
// buffers (no copy), counting on the way.
func (p progressWriter) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := p.w.(io.ReaderFrom); ok {
		return rf.ReadFrom(countReader{r: r, add: p.j.addRead})
	}
	return io.Copy(struct{ io.Writer }{p}, r)
}

// progressStore counts the bytes a Put stores and a Get reads. A restore's
// Gets move the phase on: with a verifying first pass the first Get is
// PhaseVerify, every later one PhaseRestore.
type progressStore struct {
	storage.Store
	j          *jobProgress
	verifyGets int // Gets still to report as PhaseVerify
	gets       atomic.Int32
}

func (s *progressStore) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	return s.Store.Put(ctx, key, countReader{r: r, add: s.j.addStored})
}

func (s *progressStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := s.Store.Get(ctx, key)
	if err != nil {
		return rc, err
	}
	phase := PhaseRestore
	if int(s.gets.Add(1)) <= s.verifyGets {
		phase = PhaseVerify
	}
	s.j.setPhase(phase)
	s.j.read.Store(0)
	return readCloser{Reader: countReader{r: rc, add: func(n int) { s.j.read.Add(int64(n)); s.j.touch() }}, Closer: rc}, nil
}

type countReader struct {
	r   io.Reader
	add func(int)
}

func (c countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.add(n)
	return n, err
}

type readCloser struct {
	io.Reader
	io.Closer
}
