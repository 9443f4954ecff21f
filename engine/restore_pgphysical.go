package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dump"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/pgphys"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// A PostgreSQL physical backup restores into a new data directory on the daemon's host
// (target_dir: absolute, missing or empty), never into a running server.
// Verify-first as every restore: the whole object is read through its
// checks before target_dir is even created; then the tar is unpacked, the
// directory handed to the postgres user when the daemon runs as root, and,
// with check (always for a drill), a throwaway postgres is started on it
// (unix socket only, its own trust hba file, archiving off), waited for
// until recovery has finished, and the rows of the backup's database are
// counted. A failed restore removes what it wrote.

// physicalPlan is a physical restore resolved against the store.
type physicalPlan struct {
	backup   state.Backup
	conn     state.Connection // the backup's connection: its user is the one a check connects as
	provider state.Provider
	dir      string
	check    bool
	pitr     *pgphys.Target // nil: the base backup alone
	progress *jobProgress
}

// physicalRequested reports whether a request carries physical-restore fields.
func physicalRequested(req RestoreRequest) bool {
	return req.TargetDir != "" || req.Check || pitrRequested(req)
}

// maybeRestorePGPhysical starts the restore when backupID is a PostgreSQL
// physical backup (handled = true); a logical backup with physical-only
// fields is refused. A MariaDB physical backup is left to restorePhysical
// (restore_physical.go).
func (e *Engine) maybeRestorePGPhysical(backupID string, req RestoreRequest) (handled bool, rec state.Restore, err error) {
	b, err := e.getBackup(backupID)
	if err != nil {
		return false, rec, nil // the logical path reports it
	}
	if isPhysical(b.BackupType) && !isPGPhysical(b) {
		return false, rec, nil // a MariaDB chain: restore_physical.go
	}
	if !isPGPhysical(b) {
		if physicalRequested(req) {
			return true, rec, fault.Invalid("target_dir, check, target_time, target_lsn and latest are for physical backups; this is a " + b.BackupType + " backup")
		}
		return false, rec, nil
	}
	p, err := e.planPhysical(b, req)
	if err != nil {
		return true, rec, err
	}
	now := e.now().UTC()
	rec = state.Restore{ID: state.NewID(state.KindRestore), BackupID: p.backup.ID, TargetConnection: b.ConnectionID,
		TargetDir: p.dir, PointInTime: pointInTime(req), RestoreType: RestoreFull, Status: state.StatusRunning, StartedAt: &now, CreatedAt: now}
	stampPoint(&rec, req) // restore_point.go
	err = e.store.Update(func(tx *state.Tx) error {
		all, err := state.List[state.Restore](tx)
		if err != nil {
			return err
		}
		for _, r := range all {
			if r.Status == state.StatusRunning && r.TargetDir == rec.TargetDir {
				return fault.Conflict(fmt.Sprintf("restore %s into %s is still running", r.ID, r.TargetDir))
			}
		}
		return state.Put(tx, rec)
	})
	if err != nil {
		return true, state.Restore{}, err
	}
	e.log.Info("restore started", "restore", rec.ID, "backup", p.backup.ID, "target_dir", p.dir)
	e.goJob(func(ctx context.Context) { e.runPhysicalRestore(ctx, p, rec) })
	return true, rec, nil
}

// planPhysical checks a physical restore request.
func (e *Engine) planPhysical(b state.Backup, req RestoreRequest) (physicalPlan, error) {
	if b.Status != state.StatusSuccess {
		return physicalPlan{}, fault.Invalid("cannot restore backup with status: " + b.Status)
	}
	switch {
	case req.TargetDir == "":
		return physicalPlan{}, fault.Invalid("target_dir is required: a physical backup restores into a new data directory on the daemon's host")
	case !filepath.IsAbs(req.TargetDir):
		return physicalPlan{}, fault.Invalid("target_dir must be an absolute path")
	case req.TargetConnection != "" || req.TargetDatabase != "" || req.DropExisting || req.NoPrivileges ||
		(req.RestoreType != "" && req.RestoreType != RestoreFull):
		return physicalPlan{}, fault.Invalid("a physical backup restores a whole cluster into target_dir: target_connection, target_database, drop_existing, no_privileges and restore_type do not apply")
	}
	if pitrRequested(req) {
		var err error
		if b, err = e.chooseBase(b, req); err != nil {
			return physicalPlan{}, err
		}
	}
	p := physicalPlan{backup: b, dir: filepath.Clean(req.TargetDir), check: req.Check}
	if pitrRequested(req) {
		p.pitr = &pgphys.Target{Time: req.TargetTime, LSN: req.TargetLSN}
		if err := pgphys.CheckRecoveryDir(p.dir); err != nil {
			return physicalPlan{}, fault.Invalid(err.Error())
		}
	}
	err := e.store.View(func(tx *state.Tx) error {
		var err error
		p.provider, err = state.Get[state.Provider](tx, b.StorageProviderID)
		if errors.Is(err, state.ErrNotFound) {
			return fault.Invalid("the storage provider of this backup no longer exists")
		}
		if err != nil {
			return err
		}
		p.conn, err = state.Get[state.Connection](tx, b.ConnectionID)
		if errors.Is(err, state.ErrNotFound) && p.pitr != nil {
			return fault.Invalid("the connection of this backup no longer exists: its WAL archive cannot be found")
		}
		if errors.Is(err, state.ErrNotFound) {
			err = nil // a check then connects as postgres: see checkUser
		}
		return err
	})
	if err == nil && p.pitr != nil {
		_, err = e.walStoreOf(p.conn)
	}
	return p, err
}

// runPhysicalRestore waits for a slot, restores and records the outcome.
func (e *Engine) runPhysicalRestore(ctx context.Context, p physicalPlan, rec state.Restore) {
	log := newJobLog(e.now, p.conn.Password.Reveal(), p.provider.SecretKey.Reveal())
	ctx, cancel := context.WithTimeout(ctx, e.opts.DefaultTimeout)
	defer cancel()
	log.Printf("RESTORE: physical backup %s (%s, %s) into new data directory %s",
		p.backup.ID, p.backup.ConnectionName, p.backup.CreatedAt.Format(time.RFC3339), p.dir)
	err := e.slots.acquire(ctx)
	if err != nil {
		log.Printf("QUEUE: gave up waiting for a slot: %v", err)
	} else {
		_, err = e.restorePhysicalNow(ctx, p, log)
		e.slots.release()
	}
	rec = e.finishRestore(rec, log, err)
	e.metrics.restores.WithLabelValues(rec.Status).Inc()
	attrs := []any{"restore", rec.ID, "backup", rec.BackupID, "target_dir", rec.TargetDir,
		"duration", time.Duration(rec.DurationMs) * time.Millisecond, "outcome", rec.Status}
	if err != nil {
		e.log.Error("restore finished", append(attrs, "err", log.scrub(err.Error()))...)
		return
	}
	e.log.Info("restore finished", attrs...)
}

// restorePhysicalNow verifies the base backup, unpacks it into p.dir and,
// with p.check, starts a throwaway server on it and returns the row counts
// of the backup's database. On failure p.dir is removed (or emptied).
func (e *Engine) restorePhysicalNow(ctx context.Context, p physicalPlan, log restoreLog) (map[string]int64, error) {
	kr, err := e.opts.Keys()
	if err != nil {
		return nil, fmt.Errorf("encryption keyring: %w", err)
	}
	st, err := e.stores.open(p.provider)
	if err != nil {
		log.Printf("STORAGE PROVIDER ERROR: %v", err)
		return nil, err
	}
	r := pgDirRestore{st: st, spec: objfmt.SpecOf(p.backup), keys: objfmt.Keys{Ring: kr}, base: p.backup.Physical,
		dir: p.dir, check: p.check, pitr: p.pitr, walConn: p.conn.Name,
		walStore: func() (storage.Store, error) { return e.walStoreOf(p.conn) },
		dbName:   p.backup.DatabaseName, user: checkUser(p),
		postgres: func(ctx context.Context) (string, error) {
			settings, err := e.settings()
			if err != nil {
				return "", err
			}
			return dump.PgTool(ctx, e.tools(settings), "postgres")
		}}
	return restorePGDir(ctx, r, log)
}

// pgDirRestore is the restore of a PostgreSQL base backup (and, for a
// point in time, its archived WAL) into a new data directory, resolved to
// its objects: the daemon's restores and drills (restorePhysicalNow) and
// the offline `jagad restore --target-dir` (restore_offline_dir.go) run it.
type pgDirRestore struct {
	st    storage.Store
	spec  objfmt.Spec
	keys  objfmt.Keys
	base  *state.PhysicalInfo // LSNs and timeline: the WAL chain starts at the base's start
	dir   string
	check bool
	pitr  *pgphys.Target // nil: the base backup alone
	// walStore opens the storage of the WAL archive of connection walConn
	// (pitr only).
	walStore func() (storage.Store, error)
	walConn  string
	dbName   string // the database a check counts
	user     string // the role a check connects as
	// postgres finds the postgres binary (check only).
	postgres func(context.Context) (string, error)
}

// restorePGDir verifies the base backup (and the WAL chain), unpacks it
// into r.dir and, with r.check, starts a throwaway server on it and returns
// the row counts of r.dbName. On failure r.dir is removed (or emptied).
func restorePGDir(ctx context.Context, r pgDirRestore, log restoreLog) (map[string]int64, error) {
	start := time.Now()
	log.Printf("VERIFY: pass 1 of 2: reading the whole base backup before %s is created", r.dir)
	d, err := objfmt.CheckObject(ctx, r.st, r.spec, r.keys, decompressInCheck)
	if err != nil {
		logCause(log, d, err)
		log.Printf("VERIFY: the base backup failed its checks; nothing was written")
		return nil, fmt.Errorf("verify before restore: %w", err)
	}
	log.Printf("VERIFY: base backup intact (%d stored bytes%s) in %s",
		d.StoredBytes(), decryptedNote(r.spec), time.Since(start).Round(time.Millisecond))
	var wal *walWrite
	if r.pitr != nil {
		wst, segs, err := verifyWALChain(ctx, r, log)
		if err != nil {
			log.Printf("VERIFY: the WAL chain failed its checks; nothing was written")
			return nil, fmt.Errorf("verify before restore: %w", err)
		}
		wal = &walWrite{st: wst, segs: segs}
	}
	log.Printf("VERIFY: pass 2 of 2: unpacking into %s", r.dir)
	owner, err := pgphys.OwnerFor()
	if err != nil {
		return nil, err
	}
	undo, err := pgphys.PrepareDir(r.dir)
	if err != nil {
		return nil, fault.Invalid(err.Error())
	}
	counts, err := unpackAndCheck(ctx, r, wal, owner, log)
	if err != nil {
		undo()
		log.Printf("RESTORE: removed what this failed restore wrote to %s", r.dir)
		return nil, err
	}
	return counts, nil
}

// walWrite is the verified WAL chain a point-in-time restore writes.
type walWrite struct {
	st   storage.Store
	segs []walSegment
}

func unpackAndCheck(ctx context.Context, r pgDirRestore, wal *walWrite, owner pgphys.Owner, log restoreLog) (map[string]int64, error) {
	d, err := objfmt.OpenDump(ctx, r.st, r.spec, r.keys)
	if err != nil {
		logCause(log, d, err)
		return nil, err
	}
	defer d.Close()
	files, err := pgphys.Extract(d, r.dir)
	if err == nil {
		_, err = io.Copy(io.Discard, d) // tar padding: read to the end, where the checksums are checked
	}
	if err != nil {
		if stage, cause := d.Cause(); cause != nil {
			log.Printf("%s ERROR: %v", stage, cause)
		}
		return nil, fmt.Errorf("unpack base backup: %w", err)
	}
	for _, l := range d.Summary() {
		log.Printf("%s", l)
	}
	log.Printf("RESTORE: %d files unpacked into %s", files, r.dir)
	if wal != nil {
		if err := writeWAL(ctx, wal.st, wal.segs, r.keys, r.dir, *r.pitr, log); err != nil {
			return nil, err
		}
	}
	if err := owner.Give(r.dir); err != nil {
		return nil, err
	}
	if !r.check {
		return nil, nil
	}
	return checkDataDir(ctx, r, owner, log)
}

// checkDataDir starts a throwaway postgres on r.dir, waits until it accepts
// connections out of recovery, counts the rows of the backup's database and
// stops it.
func checkDataDir(ctx context.Context, r pgDirRestore, owner pgphys.Owner, log restoreLog) (map[string]int64, error) {
	bin, err := r.postgres(ctx)
	if err != nil {
		return nil, err
	}
	srv, err := pgphys.Start(bin, r.dir, owner)
	if err != nil {
		return nil, err
	}
	defer func() {
		srv.Stop()
		log.Printf("CHECK: throwaway server stopped")
	}()
	log.Printf("CHECK: throwaway postgres started on %s (unix socket only, port %d)", r.dir, srv.Port)
	t := dbclient.Target{DBType: dbclient.PostgreSQL, Host: srv.SocketDir, Port: srv.Port,
		User: r.user, SSLMode: "disable", Database: r.dbName}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	err = srv.WaitReady(wctx, func(ctx context.Context) error {
		return pgphys.Promoted(ctx, t)
	})
	if err != nil {
		return nil, fmt.Errorf("check restored data directory: %w", err)
	}
	counts, err := dbclient.TableCounts(ctx, t, r.dbName)
	if err != nil {
		return nil, fmt.Errorf("check restored data directory: count rows: %w", err)
	}
	logCounts(log, r.dbName, counts)
	return counts, nil
}

// logCounts logs the row counts a check found.
func logCounts(log restoreLog, db string, counts map[string]int64) {
	var rows int64
	for _, n := range counts {
		rows += n
	}
	log.Printf("CHECK: database %s answers: %d tables, %d rows", db, len(counts), rows)
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		log.Printf("CHECK: table %s: %d rows", n, counts[n])
	}
}

// checkUser is the role a check connects as: the backup's connection user.
func checkUser(p physicalPlan) string {
	if p.conn.Username != "" {
		return p.conn.Username
	}
	return "postgres"
}

// drillPGPhysical is the drill of a PostgreSQL physical backup: restore into a temporary
// data directory, start a throwaway server on it, count the rows of the
// backup's database, stop it and remove the directory. The counts recorded
// at backup time were taken when the base backup started, while the
// restored copy is the cluster as of the backup's end: a missing or extra
// table fails the drill, a differing row count is reported in the log.
func (e *Engine) drillPGPhysical(ctx context.Context, p restorePlan, log *jobLog) (n drillCount, err error) {
	dir, err := os.MkdirTemp("", "jagad-drill-")
	if err != nil {
		return n, err
	}
	defer func() {
		if rerr := os.RemoveAll(dir); rerr != nil {
			log.Printf("DRILL: could not remove %s: %v", dir, rerr)
		}
	}()
	if err := os.Chmod(dir, 0o755); err != nil {
		return n, err
	}
	pp := physicalPlan{backup: p.backup, provider: p.provider, dir: filepath.Join(dir, "data"), check: true}
	if err := e.store.View(func(tx *state.Tx) error {
		c, err := state.Get[state.Connection](tx, p.backup.ConnectionID)
		if err == nil {
			pp.conn = c
		}
		return nil
	}); err != nil {
		return n, err
	}
	got, err := e.restorePhysicalNow(ctx, pp, log)
	if err != nil {
		return n, err
	}
	n.counted, n.tables = true, len(got)
	for _, c := range got {
		n.rows += c
	}
	if err := compareTables(p.backup.Tables, got); err != nil {
		log.Printf("DRILL ERROR: %v", err)
		return n, err
	}
	if cerr := compareCounts(p.backup.Tables, got); cerr != nil {
		log.Printf("DRILL: %v (counted when the base backup started; the copy is the cluster at its end)", cerr)
	} else {
		log.Printf("DRILL: %d tables, row counts match the backup", len(got))
	}
	n.match = true
	return n, nil
}

// compareTables fails when the restored database lacks a table of the
// backup or has one the backup did not.
func compareTables(want, got map[string]int64) error {
	var bad []string
	for t := range want {
		if _, ok := got[t]; !ok {
			bad = append(bad, "table "+t+" missing")
		}
	}
	for t := range got {
		if _, ok := want[t]; !ok {
			bad = append(bad, "table "+t+" was not in the backup")
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.Sort(bad)
	return fmt.Errorf("tables differ from the backup: %s", strings.Join(bad, "; "))
}

// pointInTime is the recovery target of a request as recorded.
func pointInTime(req RestoreRequest) string {
	switch {
	case req.TargetTime != nil:
		return req.TargetTime.UTC().Format(time.RFC3339Nano)
	case req.TargetLSN != "":
		return req.TargetLSN
	case req.Latest:
		return "latest"
	}
	return ""
}
