package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dump"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// Restores stream: storage → decrypt → decompress → pg_restore / mysql,
// never holding the object in memory, under the engine's concurrency limit.
//
// A corrupt object must not damage the target, and a streaming restore can
// only notice corruption when it reaches it (a flipped bit in the last
// chunk, a truncated object): by then pg_restore or mysql has already
// changed the target. So a restore reads the object twice. Pass 1 reads the
// whole object through the checks without touching the target: the stored
// size and the SHA-256 of the stored bytes against encrypted_checksum, every
// encrypted chunk up to the verified final one (so a missing or wrong key
// fails here too), and the SHA-256 of the compressed stream against
// checksum. Only when it passes is drop_existing applied and pass 2 streams
// the object into the tool, checking everything again plus decompression and
// the recorded dump size (the object could change between the passes; then
// the tool is killed before it sees the end of its input). Pass 1 does not
// decompress (decompressInCheck): the checksums already prove the
// compressed stream bit-identical to what the backup wrote, and
// decompression is most of the pass's cost. The cost is one more read of
// the object, measured by BenchmarkRestorePostgres (restore_bench_test.go).
//
// An existing, non-empty target with drop_existing=false is restored into:
// the dump's objects replace their namesakes (pg_restore --clean --if-exists;
// MySQL/MariaDB dumps carry DROP TABLE IF EXISTS), objects that are not in
// the dump are kept. This is what an in-place restore into the backup's own
// database (the default target) needs. drop_existing=true drops the database
// does not drop anything before the restore has succeeded: the dump is
// restored into a fresh temporary database, which replaces the target only
// at the end (dbclient.SwapDatabase; restore_swap.go), so a restore that
// fails or is killed at any point leaves an existing target as it was. A
// database that did not exist before a failed restore is dropped again.
//
// restore_type "data-only" (PostgreSQL only) restores the dump's rows into
// the target's existing tables: pg_restore --data-only, nothing is dropped.

// RestoreRequest asks for a restore of a backup.
type RestoreRequest struct {
	TargetConnection string // connection ID; "" = the backup's connection
	TargetDatabase   string // "" = the backup's database; created when missing
	DropExisting     bool
	// NoPrivileges restores a PostgreSQL dump without its GRANT and REVOKE
	// statements: for a target server that lacks the source's roles.
	NoPrivileges bool
	// RestoreType is RestoreFull ("" too) or RestoreDataOnly.
	RestoreType string
	// TargetDir is the new data directory a physical backup (a MariaDB
	// chain: restore_physical.go; a PostgreSQL base backup:
	// restore_pgphysical.go) restores into (absolute; missing or empty).
	TargetDir string
	// Check (PostgreSQL physical only) starts a throwaway server on it.
	Check bool
	// Point-in-time restore: one of TargetTime, TargetLSN ("X/Y") and
	// Latest for a PostgreSQL physical backup (restore_pitr.go); TargetTime
	// for a MariaDB/MySQL chain with archived binary logs (binlog_restore.go).
	TargetTime *time.Time
	TargetLSN  string
	Latest     bool
}

// Restore types.
const (
	RestoreFull     = "full"
	RestoreDataOnly = "data-only"
)

// restorePlan is a restore resolved against the store.
type restorePlan struct {
	backup   state.Backup
	conn     state.Connection
	provider state.Provider  // the first copy tried (for its secret in the log scrubber)
	sources  []restoreSource // every stored copy, the primary first (restore_copies.go)
	database string
	tool     dump.RestoreOptions
	swapTag  string       // names the temporary databases of a replacing restore
	progress *jobProgress // nil: not tracked (drills)
}

// Restore validates a restore, records it as running and starts it on the
// engine's context.
func (e *Engine) Restore(ctx context.Context, backupID string, req RestoreRequest) (state.Restore, error) {
	if handled, rec, err := e.maybeRestorePGPhysical(backupID, req); handled {
		return rec, err // restore_pgphysical.go
	}
	if b, err := e.getBackup(backupID); err == nil && isPhysical(b.BackupType) {
		return e.restorePhysical(b, req) // restore_physical.go
	}
	p, err := e.planRestore(backupID, req)
	if err != nil {
		return state.Restore{}, err
	}
	now := e.now().UTC()
	rec := state.Restore{ID: state.NewID(state.KindRestore), BackupID: p.backup.ID, TargetConnection: p.conn.ID,
		TargetDatabase: p.database, DropExisting: req.DropExisting, NoPrivileges: req.NoPrivileges,
		RestoreType: restoreTypeOf(req), Status: state.StatusRunning, StartedAt: &now, CreatedAt: now}
	p.swapTag = swapTag(rec.ID)
	err = e.store.Update(func(tx *state.Tx) error {
		all, err := state.List[state.Restore](tx)
		if err != nil {
			return err
		}
		for _, r := range all {
			if r.Status == state.StatusRunning && r.TargetConnection == rec.TargetConnection && r.TargetDatabase == rec.TargetDatabase {
				return fault.Conflict(fmt.Sprintf("restore %s into database %s is still running", r.ID, r.TargetDatabase))
			}
		}
		return state.Put(tx, rec)
	})
	if err != nil {
		return state.Restore{}, err
	}
	e.log.Info("restore started", "restore", rec.ID, "backup", p.backup.ID, "connection", p.conn.Name, "database", p.database)
	e.goJob(func(ctx context.Context) { e.runRestore(ctx, p, rec) })
	return rec, nil
}

// planRestore checks a request: the backup (404, 400 unless success), the
// target connection (404 when named and missing; 400 for another db_type)
// and the target database name.
func (e *Engine) planRestore(backupID string, req RestoreRequest) (restorePlan, error) {
	b, err := e.getBackup(backupID)
	if err != nil {
		return restorePlan{}, err
	}
	if b.Status != state.StatusSuccess {
		return restorePlan{}, fault.Invalid("cannot restore backup with status: " + b.Status)
	}
	if err := checkRestoreType(b.DBType, req); err != nil {
		return restorePlan{}, err
	}
	p := restorePlan{backup: b, database: req.TargetDatabase,
		tool: dump.RestoreOptions{NoPrivileges: req.NoPrivileges, DataOnly: restoreTypeOf(req) == RestoreDataOnly}}
	if p.database == "" {
		p.database = b.DatabaseName
	}
	connID := req.TargetConnection
	if connID == "" {
		connID = b.ConnectionID
	}
	err = e.store.View(func(tx *state.Tx) error {
		var err error
		p.conn, err = state.Get[state.Connection](tx, connID)
		switch {
		case errors.Is(err, state.ErrNotFound) && req.TargetConnection != "":
			return fault.NotFound("target connection not found")
		case errors.Is(err, state.ErrNotFound):
			return fault.Invalid("the connection of this backup no longer exists; choose a target_connection")
		case err != nil:
			return err
		}
		p.sources, err = restoreSources(tx, b)
		if err != nil {
			return err
		}
		p.provider = p.sources[0].provider
		return nil
	})
	if err != nil {
		return restorePlan{}, err
	}
	if p.conn.DBType != b.DBType {
		return restorePlan{}, fault.Invalid(fmt.Sprintf("cannot restore a %s backup into %s connection %q: db_type must match",
			b.DBType, p.conn.DBType, p.conn.Name))
	}
	if err := dbclient.ValidateName(b.DBType, p.database); err != nil {
		return restorePlan{}, fault.Invalid("target_database: " + err.Error())
	}
	return p, nil
}

// runRestore waits for a slot, restores and records the outcome.
func (e *Engine) runRestore(ctx context.Context, p restorePlan, rec state.Restore) {
	p.progress = e.trackRestore(rec, p.backup)
	defer e.progress.remove(rec.ID)
	log := newJobLog(e.now, p.secrets()...)
	ctx, cancel := context.WithTimeout(ctx, e.opts.DefaultTimeout)
	defer cancel()
	log.Printf("RESTORE: backup %s (%s %s/%s, %s) into connection %s, database %s",
		p.backup.ID, p.backup.DBType, p.backup.ConnectionName, p.backup.DatabaseName,
		p.backup.CreatedAt.Format(time.RFC3339), p.conn.Name, p.database)
	err := e.slots.acquire(ctx)
	if err != nil {
		log.Printf("QUEUE: gave up waiting for a slot: %v", err)
	} else {
		if rec.DropExisting {
			e.dropEarlierLeftovers(ctx, p, rec, log)
		}
		err = e.restoreNow(ctx, p, true, rec.DropExisting, log)
		e.slots.release()
	}
	rec = e.finishRestore(rec, log, err)
	e.metrics.restores.WithLabelValues(rec.Status).Inc()
	attrs := []any{"restore", rec.ID, "backup", rec.BackupID, "database", rec.TargetDatabase,
		"duration", time.Duration(rec.DurationMs) * time.Millisecond, "outcome", rec.Status}
	if err != nil {
		e.log.Error("restore finished", append(attrs, "err", log.scrub(err.Error()))...)
		return
	}
	e.log.Info("restore finished", attrs...)
}

// restoreNow runs the restore pipeline of a resolved plan (the caller holds
// a slot).
func (e *Engine) restoreNow(ctx context.Context, p restorePlan, verifyFirst, dropExisting bool, log *jobLog) error {
	settings, err := e.settings()
	if err != nil {
		return err
	}
	kr, err := e.opts.Keys()
	if err != nil {
		return fmt.Errorf("encryption keyring: %w", err)
	}
	r := streamRestore{
		spec: objfmt.SpecOf(p.backup), keys: objfmt.Keys{Ring: kr}, target: connTarget(p.conn, p.database),
		tools: e.tools(settings), tool: p.tool, verifyFirst: verifyFirst, dropExisting: dropExisting, swapTag: p.swapTag, log: log,
	}
	wrap := func(st storage.Store) storage.Store {
		if p.progress == nil {
			return st
		}
		ps := &progressStore{Store: st, j: p.progress}
		if verifyFirst {
			ps.verifyGets = 1
		}
		return ps
	}
	st, err := e.pickSource(ctx, p, &r, wrap, log)
	if err != nil {
		return err
	}
	r.st = st
	return restorePass(ctx, r)
}

// finishRestore records a restore's outcome.
func (e *Engine) finishRestore(rec state.Restore, log *jobLog, err error) state.Restore {
	now := e.now().UTC()
	rec.CompletedAt = &now
	if rec.StartedAt != nil {
		rec.DurationMs = now.Sub(*rec.StartedAt).Milliseconds()
	}
	if err != nil {
		rec.Status = state.StatusFailed
		log.Printf("RESTORE FAILED: %v", err)
	} else {
		rec.Status = state.StatusSuccess
		log.Printf("RESTORE COMPLETE: success (%s)", time.Duration(rec.DurationMs)*time.Millisecond)
	}
	rec.LogOutput = log.String()
	if serr := e.store.Update(func(tx *state.Tx) error { return state.Put(tx, rec) }); serr != nil {
		e.log.Error("record restore outcome", "restore", rec.ID, "err", serr)
	}
	return rec
}

// decompressInCheck makes the first pass of a restore decompress too.
// Off: the checksums already prove the compressed stream bit-identical to
// what the compressor wrote, so decompressing finds no storage corruption
// that they miss, and it is about two thirds of the pass's time (see
// BenchmarkRestorePostgres). Deep verification does decompress.
const decompressInCheck = false

// restoreLog receives a restore's log lines and its tool's stderr.
type restoreLog interface {
	io.Writer
	Printf(format string, args ...any)
}

// streamRestore is one restore of one object into one database.
type streamRestore struct {
	st           storage.Store
	spec         objfmt.Spec
	keys         objfmt.Keys
	target       dbclient.Target // Database is the target database
	tools        dump.Tools
	tool         dump.RestoreOptions
	verifyFirst  bool
	dropExisting bool
	swapTag      string // "": a random one
	log          restoreLog
}

// restoreStream restores r.spec into r.target: pass 1 (when verifyFirst)
// proves the object intact, then drop_existing is applied and pass 2
// streams the object into the restore tool.
func restoreStream(ctx context.Context, r streamRestore) error {
	if r.verifyFirst {
		if err := verifyPass(ctx, r); err != nil {
			return err
		}
	}
	return restorePass(ctx, r)
}

// verifyPass is pass 1: the whole object through its checks, the target
// untouched.
func verifyPass(ctx context.Context, r streamRestore) error {
	start := time.Now()
	r.log.Printf("VERIFY: pass 1 of 2: reading the whole object before the target database is touched")
	d, err := objfmt.CheckObject(ctx, r.st, r.spec, r.keys, decompressInCheck)
	if err != nil {
		logCause(r.log, d, err)
		r.log.Printf("VERIFY: the object failed its checks; the target database was not touched")
		return fmt.Errorf("verify before restore: %w", err)
	}
	r.log.Printf("VERIFY: object intact (%d stored bytes, size and checksums match%s) in %s; pass 2 of 2: restoring",
		d.StoredBytes(), decryptedNote(r.spec), time.Since(start).Round(time.Millisecond))
	return nil
}

// restorePass is pass 2: the object streamed into the restore tool.
func restorePass(ctx context.Context, r streamRestore) error {
	t := r.target
	d, err := objfmt.OpenDump(ctx, r.st, r.spec, r.keys)
	if err != nil {
		logCause(r.log, d, err)
		return err
	}
	defer d.Close()
	existed, err := dbclient.DatabaseExists(ctx, t, t.Database)
	if err != nil {
		r.log.Printf("RESTORE ERROR: %v", err)
		return err
	}
	into := t // the database the tool restores into
	replace := existed && r.dropExisting
	tag := swapTagOr(r.swapTag)
	if replace {
		into.Database, _ = dbclient.SwapNames(t.DBType, t.Database, tag)
		r.log.Printf("RESTORE: database %s exists (drop_existing): restoring into the temporary database %s, "+
			"which replaces %s only when the restore has succeeded", t.Database, into.Database, t.Database)
	} else if existed {
		r.log.Printf("RESTORE: database %s exists: objects of the dump replace their namesakes, other objects are kept", t.Database)
	}
	r.log.Printf("DOWNLOAD: %s (%d bytes)", r.spec.Key, d.StoredSize())
	if err := dump.Restore(ctx, into, r.tools, r.tool, d, r.log); err != nil {
		if stage, cause := d.Cause(); cause != nil {
			r.log.Printf("%s ERROR: %v", stage, cause)
		}
		switch {
		case replace:
			dropCreated(into, r.log)
			r.log.Printf("RESTORE: database %s was left as it was", t.Database)
		case !existed:
			dropCreated(t, r.log)
		}
		return err
	}
	if replace {
		if err := swapIn(ctx, t, into.Database, tag, r.log); err != nil {
			return err
		}
	}
	for _, l := range d.Summary()[1:] {
		r.log.Printf("%s", l)
	}
	return nil
}

func decryptedNote(spec objfmt.Spec) string {
	if spec.Encrypted {
		return ", every chunk decrypted and authenticated"
	}
	return ""
}

// logCause logs the stage and cause of a read failure.
func logCause(log restoreLog, d *objfmt.Dump, err error) {
	stage, cause := objfmt.CauseOf(d, err)
	log.Printf("%s ERROR: %v", stage, cause)
}

// dropCreated drops a database a failed restore created.
func dropCreated(t dbclient.Target, log restoreLog) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if ok, err := dbclient.DatabaseExists(ctx, t, t.Database); err == nil && !ok {
		return
	}
	if err := dbclient.DropDatabase(ctx, t, t.Database); err != nil {
		log.Printf("RESTORE: could not drop database %s created by this failed restore: %v", t.Database, err)
		return
	}
	log.Printf("RESTORE: dropped database %s, which this failed restore had created", t.Database)
}
