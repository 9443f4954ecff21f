package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"time"

	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dump"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/schedule"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// BackupRequest asks for one backup (POST /api/backups, or a schedule run).
type BackupRequest struct {
	ConnectionID      string
	DatabaseID        string
	BackupType        string
	ScheduleID        string
	StorageProviderID string
	NotifTargetIDs    []string
	NotifyOnSuccess   bool
	NotifyOnFailure   bool
	// Encrypt: nil means "when a key is configured" (one-shot backups).
	Encrypt *bool
	Timeout time.Duration
}

// job is everything a backup run needs, resolved from the store.
type job struct {
	backup   state.Backup
	conn     state.Connection
	provider state.Provider
	copies   []copyTarget // the schedule's copies_to (copies.go)
	schedule *state.Schedule
	encrypt  *bool
	timeout  time.Duration
	progress *jobProgress // live counters (progress.go); set by runBackup
}

// StartBackup records a queued backup and runs it on the engine's context.
func (e *Engine) StartBackup(ctx context.Context, req BackupRequest) (state.Backup, error) {
	if req.BackupType == "" {
		req.BackupType = "full"
	}
	if req.BackupType != "full" && !isPhysical(req.BackupType) {
		return state.Backup{}, fault.Invalid("backup_type must be full, physical or incremental")
	}
	j, err := e.prepare(req, nil)
	if err != nil {
		return state.Backup{}, err
	}
	if err := checkPhysical(req.BackupType, j.conn.DBType); err != nil {
		return state.Backup{}, err
	}
	// A backup made for a schedule counts as a run of it: one at a time.
	done := func() {}
	if s := j.schedule; s != nil {
		if !e.markRunning(s.ID) {
			return state.Backup{}, fault.Conflict(fmt.Sprintf("schedule %q is already running", s.Name))
		}
		done = func() { e.clearRunning(s.ID) }
	}
	if err := e.recordQueued(j); err != nil {
		done()
		return state.Backup{}, fmt.Errorf("record backup: %w", err)
	}
	e.metrics.queued.Inc()
	e.goJob(func(ctx context.Context) {
		defer done()
		e.runBackup(ctx, j)
	})
	return j.backup, nil
}

// recordQueued stores a job's queued record, provided its storage provider
// still exists: the provider was resolved in an earlier transaction, and
// the API refuses to delete a provider only once a backup targets it.
func (e *Engine) recordQueued(j *job) error {
	return e.store.Update(func(tx *state.Tx) error {
		if _, err := state.Get[state.Provider](tx, j.provider.ID); err != nil {
			return notFound(err, "storage provider not found")
		}
		return state.Put(tx, j.backup)
	})
}

// prepare resolves a request against the store and builds the queued
// record. sched, when not nil, is the schedule of req.ScheduleID as the
// caller already loaded it (a schedule run): it is not read again.
func (e *Engine) prepare(req BackupRequest, sched *state.Schedule) (*job, error) {
	j := &job{encrypt: req.Encrypt, timeout: req.Timeout, schedule: sched}
	var db state.Database
	err := e.store.View(func(tx *state.Tx) error {
		var err error
		if j.conn, err = state.Get[state.Connection](tx, req.ConnectionID); err != nil {
			return notFound(err, "connection not found")
		}
		if db, err = state.Get[state.Database](tx, req.DatabaseID); err != nil || db.ConnectionID != j.conn.ID {
			return notFound(err, "database not found")
		}
		if req.ScheduleID != "" && j.schedule == nil {
			s, err := state.Get[state.Schedule](tx, req.ScheduleID)
			if err != nil {
				return notFound(err, "schedule not found")
			}
			j.schedule = &s
		}
		if j.provider, err = resolveProvider(tx, req.StorageProviderID); err != nil {
			return err
		}
		j.copies, err = resolveCopies(tx, j.schedule, j.provider.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	now := e.now().UTC()
	b := state.Backup{
		ID: state.NewID(state.KindBackup), ConnectionID: j.conn.ID, DatabaseID: db.ID,
		ConnectionName: j.conn.Name, DatabaseName: db.DBName, DBType: j.conn.DBType,
		BackupType: req.BackupType, Status: state.StatusQueued, StorageProviderID: j.provider.ID,
		VerifyStatus: state.VerifyPending, QueuedAt: &now, CreatedAt: now,
		NotifTargetIDs: req.NotifTargetIDs, NotifyOnSuccess: req.NotifyOnSuccess, NotifyOnFailure: req.NotifyOnFailure,
	}
	if j.schedule != nil {
		b.ScheduleID, b.ScheduleName = j.schedule.ID, j.schedule.Name
		policy := j.schedule.Retention()
		b.Retention = &policy
	}
	b.Replicas = initialReplicas(b, j.provider, j.copies)
	j.backup = b
	return j, nil
}

// resolveProvider returns the named provider or the default one.
func resolveProvider(tx *state.Tx, id string) (state.Provider, error) {
	if id != "" {
		p, err := state.Get[state.Provider](tx, id)
		return p, notFound(err, "storage provider not found")
	}
	all, err := state.List[state.Provider](tx)
	if err != nil {
		return state.Provider{}, err
	}
	for _, p := range all {
		if p.IsDefault {
			return p, nil
		}
	}
	if len(all) == 1 {
		return all[0], nil
	}
	return state.Provider{}, fault.Invalid("no storage provider configured — add one in Settings > Storage (or mark one is_default)")
}

func notFound(err error, msg string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, state.ErrNotFound) {
		return fault.Invalid(msg)
	}
	return err
}

// runBackup waits for a slot and runs the job; the outcome is always recorded.
func (e *Engine) runBackup(ctx context.Context, j *job) {
	b := j.backup
	b.Replicas = slices.Clone(b.Replicas) // j.backup went back to the caller: it is not ours to change
	prog := e.trackBackup(b)
	defer e.progress.remove(b.ID)
	j.progress = prog
	secrets := []string{j.conn.Password.Reveal(), j.provider.SecretKey.Reveal()}
	for _, c := range j.copies {
		secrets = append(secrets, c.provider.SecretKey.Reveal())
	}
	log := newJobLog(e.now, secrets...)
	timeout := j.timeout
	if timeout <= 0 {
		timeout = e.opts.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	err := e.slots.acquire(ctx)
	e.metrics.queued.Dec()
	if err != nil {
		log.Printf("QUEUE: gave up waiting for a slot: %v", err)
		e.finishBackup(b, log, claimLost(ctx, err), nil)
		return
	}
	e.metrics.running.Inc()
	res, err := e.execute(ctx, &b, j, log)
	e.metrics.running.Dec()
	e.slots.release()
	// The pipeline's buffers (compressor window, async chunks) are garbage
	// now. Without this the heap goal lets each backup's garbage pile onto
	// the last one's and the background scavenger returns it only slowly:
	// the idle daemon kept ~60 MiB more after 10 backups (rss.sh,
	// PERF-NOTES.md Goal 2). One GC per backup.
	debug.FreeOSMemory()
	if err != nil && ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("timed out after %s: %w", timeout, err)
	}
	e.finishBackup(b, log, claimLost(ctx, err), res)
}

// claimLost names the cause of a run cut off because its cluster claim was
// lost (schedrun.go: cutOffOnLoss); other errors pass unchanged.
func claimLost(ctx context.Context, err error) error {
	if err != nil && errors.Is(context.Cause(ctx), schedule.ErrClaimLost) {
		return fmt.Errorf("%w (%v)", schedule.ErrClaimLost, err)
	}
	return err
}

// execute runs the pipeline for one backup and fills b.
func (e *Engine) execute(ctx context.Context, b *state.Backup, j *job, log *jobLog) (*dump.Result, error) {
	settings, err := e.settings()
	if err != nil {
		return nil, err
	}
	start := e.now().UTC()
	b.StartedAt = &start
	b.Status = state.StatusRunning
	b.Compression = settings.Compression()
	ext := dump.Extension(b.DBType)
	switch {
	case isPGPhysical(*b):
		ext = dump.BaseBackupExt // pg_basebackup's tar (pgphysical.go)
	case isPhysical(b.BackupType):
		if err := e.planChain(b, j, log); err != nil { // physical.go
			return nil, err
		}
		ext = physicalExt
	}
	kr, err := e.keyringFor(j)
	if err != nil {
		return nil, err
	}
	ext += objfmt.CompressExt(b.Compression)
	if kr != nil {
		ext += crypt.Ext
		b.EncryptionAlgo, b.EncryptionKeyID = crypt.Algo, kr.Active()
	}
	key, err := storage.SafeKey("backups", b.ConnectionName, b.DatabaseName, b.ID+"-"+start.Format("20060102-150405")+ext)
	if err != nil {
		return nil, fmt.Errorf("object key: %w", err)
	}
	b.StoragePath = key
	for i := range b.Replicas {
		b.Replicas[i].StoragePath = key // the same key on every destination
	}
	// Record the key before uploading, so a crash can find what to remove.
	if err := e.saveBackup(*b); err != nil {
		return nil, err
	}
	e.log.Info("backup started", "backup", b.ID, "schedule", b.ScheduleName, "connection", b.ConnectionName,
		"database", b.DatabaseName, "compression", b.Compression, "encrypted", kr != nil)
	log.Printf("BACKUP: streaming %s %s to %s", b.DBType, b.DatabaseName, key)

	st, err := e.stores.open(j.provider)
	if err != nil {
		log.Printf("STORAGE PROVIDER ERROR: %v", err)
		return nil, err
	}
	copies := e.openCopies(b, j, log)
	dests := []objfmt.Dest{{Store: &progressStore{Store: st, j: j.progress}, Key: key}}
	for _, c := range copies {
		dests = append(dests, objfmt.Dest{Store: c.store, Key: key})
		log.Printf("BACKUP: copying to %s in the same pass", c.provider.Name)
	}
	up, err := objfmt.StartFanout(ctx, dests, b.Compression, kr)
	if err != nil {
		return nil, err
	}
	j.progress.setPhase(PhaseDump)
	res, dumpErr := e.runSource(ctx, b, j, settings, progressWriter{up.Writer(), j.progress}, log)
	if dumpErr != nil {
		put, _ := up.Abort(dumpErr)
		if put.Err != nil && !errors.Is(put.Err, dumpErr) && ctx.Err() == nil {
			// Storage failed first (disk full, S3 down): the dump only
			// stopped because its output was refused. Name the real cause.
			log.Printf("UPLOAD ERROR: %v", put.Err)
			return nil, fmt.Errorf("upload: %w", put.Err)
		}
		return nil, fmt.Errorf("dump: %w", dumpErr)
	}
	j.progress.setPhase(PhaseUpload)
	put, err := up.Finish()
	if err != nil {
		log.Printf("UPLOAD ERROR: %v", err)
		return nil, err
	}
	j.progress.setPhase(PhaseVerify)
	info, err := st.Stat(ctx, key)
	if err != nil || info.Size != put.N {
		_ = st.Delete(context.WithoutCancel(ctx), key)
		return nil, fmt.Errorf("stored object check: size %d, expected %d: %v", info.Size, put.N, err)
	}
	b.SizeBytes, b.StoredSizeBytes = up.RawBytes(), put.N
	b.Checksum, b.EncryptedChecksum = up.Checksum(), up.StoredChecksum()
	if kr != nil {
		b.EncryptedSizeBytes = put.N
	}
	b.ToolVersion, b.ServerVersion, b.Tables = res.ToolVersion, res.ServerVersion, res.Tables
	log.Printf("UPLOAD: %d bytes stored (sha256 %s)", put.N, b.EncryptedChecksum)
	// The manifest and the record carry the same completion time, so a
	// catalog rebuilt from storage matches the store.
	markCompleted(b, e.now())
	if err := e.writeManifest(ctx, st, *b); err != nil {
		_ = st.Delete(context.WithoutCancel(ctx), key)
		log.Printf("MANIFEST ERROR: %v", err)
		return nil, err
	}
	markPrimaryStored(b, e.now())
	e.finishCopies(ctx, b, copies, up.Results()[1:], log)
	return &res, nil
}

// writeManifest stores the manifest of a completed backup beside its object.
func (e *Engine) writeManifest(ctx context.Context, st storage.Store, b state.Backup) error {
	completed := e.now()
	if b.CompletedAt != nil {
		completed = *b.CompletedAt
	}
	return objfmt.WriteManifest(ctx, st, objfmt.ManifestOf(b, e.opts.Version, completed))
}

// keyringFor decides whether a job is encrypted and returns the keyring.
func (e *Engine) keyringFor(j *job) (*crypt.Keyring, error) {
	want := j.encrypt
	if want == nil && j.schedule != nil {
		v := j.schedule.EncryptionEnabled
		want = &v
	}
	kr, err := e.opts.Keys()
	if err != nil {
		return nil, fmt.Errorf("encryption keyring: %w", err)
	}
	switch {
	case want == nil:
		return kr, nil // one-shot: encrypted whenever a key is configured
	case !*want:
		return nil, nil
	case kr == nil:
		return nil, errors.New("encryption is enabled for this backup but no key is configured (jagad.yaml encryption, or JAGAD_ENCRYPTION_KEY); refusing to store it unencrypted")
	}
	return kr, nil
}

// connTarget is the dbclient target of a connection and database.
func connTarget(c state.Connection, db string) dbclient.Target {
	return dbclient.Target{
		DBType: c.DBType, Host: c.Host, Port: c.Port, User: c.Username,
		Password: c.Password.Reveal(), SSLMode: c.SSLMode, Database: db,
	}
}

func (e *Engine) saveBackup(b state.Backup) error {
	return e.store.Update(func(tx *state.Tx) error {
		if _, err := state.Get[state.Backup](tx, b.ID); err != nil {
			return fmt.Errorf("backup %s: %w", b.ID, err) // deleted meanwhile
		}
		return state.Put(tx, b)
	})
}

// saveOutcome writes a finished backup's record, retrying every
// Options.OutcomeRetryEvery while the store refuses writes for lack of space
// (a data dir below its free-space floor), until space is freed,
// Options.OutcomeRetryFor passes, or the engine stops.
func (e *Engine) saveOutcome(b state.Backup) error {
	deadline := e.now().Add(e.opts.OutcomeRetryFor)
	for {
		err := e.saveBackup(b)
		if err == nil || !errors.Is(err, state.ErrNoSpace) || !e.now().Before(deadline) {
			return err
		}
		select {
		case <-e.ctx.Done():
			return err
		case <-time.After(e.opts.OutcomeRetryEvery):
		}
	}
}

// finishBackup records the outcome; a failure never leaves an object behind.
func (e *Engine) finishBackup(b state.Backup, log *jobLog, err error, res *dump.Result) {
	if err != nil || b.CompletedAt == nil {
		markCompleted(&b, e.now())
	}
	if err != nil {
		b.Status = state.StatusFailed
		log.Printf("BACKUP FAILED: %v", err)
		e.removeObject(b)
		failAllReplicas(&b, "the backup failed; nothing is kept on this destination")
	} else {
		b.Status = state.StatusSuccess
		log.Printf("BACKUP COMPLETE: success (%s)", time.Duration(b.DurationMs)*time.Millisecond)
	}
	b.LogOutput = log.String()
	if serr := e.saveOutcome(b); serr != nil {
		// The record still says running: nothing may treat this backup as
		// a success (no success notice, no retention, no verify). The next
		// start's crash recovery marks it failed.
		e.log.Error("backup outcome could not be recorded; it counts as failed", "backup", b.ID,
			"outcome", b.Status, "err", serr)
		if err == nil {
			err = fmt.Errorf("record the outcome: %w", serr)
		}
		b.Status = state.StatusFailed
	}
	e.metrics.observeBackup(b)
	attrs := []any{"backup", b.ID, "schedule", b.ScheduleName, "database", b.DatabaseName,
		"bytes", b.SizeBytes, "stored_bytes", b.StoredSizeBytes, "duration", time.Duration(b.DurationMs) * time.Millisecond,
		"outcome", b.Status}
	if err != nil {
		e.log.Error("backup finished", append(attrs, "err", log.scrub(err.Error()))...)
	} else {
		e.log.Info("backup finished", attrs...)
	}
	e.afterBackup(b)
}

// markCompleted sets the completion time and the duration.
func markCompleted(b *state.Backup, now time.Time) {
	now = now.UTC()
	b.CompletedAt = &now
	if b.StartedAt != nil {
		b.DurationMs = now.Sub(*b.StartedAt).Milliseconds()
	}
}

// removeObject deletes a failed backup's object and manifest, if any, on
// its primary and on every copy destination.
func (e *Engine) removeObject(b state.Backup) {
	if b.StoragePath == "" || b.StorageProviderID == "" {
		return
	}
	ids := []string{b.StorageProviderID}
	for _, r := range b.Replicas {
		if r.ProviderID != b.StorageProviderID {
			ids = append(ids, r.ProviderID)
		}
	}
	for _, id := range ids {
		var p state.Provider
		err := e.store.View(func(tx *state.Tx) error {
			var err error
			p, err = state.Get[state.Provider](tx, id)
			return err
		})
		if err != nil {
			continue
		}
		st, err := e.stores.open(p)
		if err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		for _, k := range []string{b.StoragePath, b.StoragePath + objfmt.ManifestSuffix} {
			if err := st.Delete(ctx, k); err != nil {
				e.log.Warn("remove partial object", "backup", b.ID, "provider", p.Name, "err", err)
			}
		}
		cancel()
	}
}
