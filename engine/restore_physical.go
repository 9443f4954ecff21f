package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/jagad/jagad/engine/mariaphys"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// A physical backup (physical or incremental) restores its whole chain
// into a new data directory, target_dir, on this host: every link is read
// through its checks first (mariaphys.Restore), then extracted, prepared
// and moved back. Starting a server on it is the operator's step (or a
// drill's: drillChain).

// restorePhysical validates and starts the restore of a physical backup.
func (e *Engine) restorePhysical(b state.Backup, req RestoreRequest) (state.Restore, error) {
	if b.Status != state.StatusSuccess {
		return state.Restore{}, fault.Invalid("cannot restore backup with status: " + b.Status)
	}
	if req.TargetDir == "" || !filepath.IsAbs(req.TargetDir) {
		return state.Restore{}, fault.Invalid("target_dir: a physical backup restores into a new data directory: give target_dir, an absolute path that does not exist or is empty")
	}
	if req.Check || req.TargetLSN != "" || req.Latest {
		return state.Restore{}, fault.Invalid("check, target_lsn and latest are for PostgreSQL physical backups; a " + b.DBType + " " + b.BackupType + " backup restores its chain into target_dir (to a point in time with target_time, from archived binary logs)")
	}
	if req.TargetConnection != "" || req.TargetDatabase != "" || req.DropExisting || req.RestoreType == RestoreDataOnly {
		return state.Restore{}, fault.Invalid("target_dir: a physical backup restores a whole server's data directory; target_connection, target_database, drop_existing and data-only do not apply")
	}
	if req.TargetTime != nil { // point in time: the newest backup before it (binlog_restore.go)
		base, err := e.pitrBase(b, *req.TargetTime)
		if err != nil {
			return state.Restore{}, fault.Invalid(err.Error())
		}
		b = base
	}
	if _, err := e.chainOf(b); err != nil {
		return state.Restore{}, fault.Invalid("cannot restore " + b.ID + ": " + err.Error())
	}
	now := e.now().UTC()
	rec := state.Restore{ID: state.NewID(state.KindRestore), BackupID: b.ID, TargetConnection: b.ConnectionID,
		TargetDatabase: b.DatabaseName, TargetDir: filepath.Clean(req.TargetDir), RestoreType: RestoreFull,
		Status: state.StatusRunning, StartedAt: &now, CreatedAt: now}
	stampPoint(&rec, req) // restore_point.go
	if err := e.store.Update(func(tx *state.Tx) error { return state.Put(tx, rec) }); err != nil {
		return state.Restore{}, err
	}
	e.log.Info("restore started", "restore", rec.ID, "backup", b.ID, "target_dir", rec.TargetDir)
	started := rec // the job records the outcome on its own copy: rec is returned now
	e.goJob(func(ctx context.Context) {
		rec := started
		log := newJobLog(e.now)
		ctx, cancel := context.WithTimeout(ctx, e.opts.DefaultTimeout)
		defer cancel()
		err := e.slots.acquire(ctx)
		if err == nil {
			if req.TargetTime == nil {
				err = e.restoreChain(ctx, b, rec.TargetDir, log)
			} else {
				err = e.restorePITR(ctx, b, *req.TargetTime, rec.TargetDir, log)
			}
			e.slots.release()
		}
		rec = e.finishRestore(rec, log, err)
		e.metrics.restores.WithLabelValues(rec.Status).Inc()
	})
	return rec, nil
}

// chainOf reads the chain ending at b from the store.
func (e *Engine) chainOf(b state.Backup) ([]state.Backup, error) {
	var chain []state.Backup
	err := e.store.View(func(tx *state.Tx) error {
		var err error
		chain, err = ChainOf(tx, b)
		return err
	})
	return chain, err
}

// restoreChain restores the chain ending at b into targetDir (the caller
// holds a slot).
func (e *Engine) restoreChain(ctx context.Context, b state.Backup, targetDir string, log restoreLog) error {
	chain, err := e.chainOf(b)
	if err != nil {
		return err
	}
	links, err := e.chainLinks(chain)
	if err != nil {
		return err
	}
	return restoreLinks(ctx, links, targetDir, log)
}

// restoreLinks restores a chain's links (oldest first) into targetDir.
func restoreLinks(ctx context.Context, links []mariaphys.Link, targetDir string, log restoreLog) error {
	log.Printf("RESTORE: chain of %d link(s) ending at %s into %s", len(links), links[len(links)-1].ID, targetDir)
	return mariaphys.Restore(ctx, links, mariaphys.RestoreOptions{TargetDir: targetDir, Owner: "mysql", Log: log})
}

// chainLinks turns a chain's records into links that read their objects
// from storage through every check.
func (e *Engine) chainLinks(chain []state.Backup) ([]mariaphys.Link, error) {
	kr, err := e.opts.Keys()
	if err != nil {
		return nil, fmt.Errorf("encryption keyring: %w", err)
	}
	keys := objfmt.Keys{Ring: kr}
	links := make([]mariaphys.Link, len(chain))
	for i, b := range chain {
		var p state.Provider
		err := e.store.View(func(tx *state.Tx) error {
			var err error
			p, err = state.Get[state.Provider](tx, b.StorageProviderID)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("storage provider of %s: %w", b.ID, err)
		}
		st, err := e.stores.open(p)
		if err != nil {
			return nil, err
		}
		links[i] = objectLink(b, st, keys)
	}
	return links, nil
}

// objectLink is the chain link of backup b, whose object is on st.
func objectLink(b state.Backup, st storage.Store, keys objfmt.Keys) mariaphys.Link {
	spec := objfmt.SpecOf(b)
	return mariaphys.Link{ID: b.ID, Incremental: b.BackupType == TypeIncremental,
		FromLSN: b.FromLSN, ToLSN: b.ToLSN, Size: b.SizeBytes,
		Check: func(ctx context.Context) error {
			d, err := objfmt.CheckObject(ctx, st, spec, keys, true)
			if err != nil {
				if d != nil {
					if stage, cause := objfmt.CauseOf(d, err); cause != nil {
						return fmt.Errorf("%s: %w", stage, cause)
					}
				}
				return err
			}
			return nil
		},
		Open: func(ctx context.Context) (io.ReadCloser, error) {
			return objfmt.OpenDump(ctx, st, spec, keys)
		},
	}
}

// drillPhysical is a drill of a physical backup: its chain restored into a
// temp dir, a throwaway mariadbd on it, the rows of its database counted.
// The counts are compared with those taken right after the backup; a
// difference is reported, not a failure (a physical copy has no count of
// its own, and the database may have changed in between).
func (e *Engine) drillPhysical(ctx context.Context, b state.Backup, log *jobLog) (n drillCount, err error) {
	dir, err := os.MkdirTemp("", "jagad-drill-")
	if err != nil {
		return n, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	if err := os.Chmod(dir, 0o755); err != nil { // mariadbd runs as mysql
		return n, err
	}
	got, err := e.drillChain(ctx, b, dir, log)
	if err != nil {
		return n, err
	}
	n.counted, n.tables = true, len(got)
	for _, c := range got {
		n.rows += c
	}
	if cerr := compareCounts(b.Tables, got); cerr != nil {
		log.Printf("DRILL: note: %v (counted beside the copy, not at its consistent point)", cerr)
		return n, nil
	}
	n.match = true
	log.Printf("DRILL: %d tables, %d rows, row counts match those after the backup", n.tables, n.rows)
	return n, nil
}

// drillChain restores b's chain into a temp dir, starts a throwaway
// mariadbd on it (socket only, no privilege checks) and counts the rows of
// b's database. The caller holds a slot.
func (e *Engine) drillChain(ctx context.Context, b state.Backup, dir string, log *jobLog) (map[string]int64, error) {
	target := filepath.Join(dir, "data")
	if err := e.restoreChain(ctx, b, target, log); err != nil {
		return nil, err
	}
	start := time.Now()
	srv, err := mariaphys.StartServer(ctx, mariaphys.ServerOptions{Datadir: target, SkipGrants: true})
	if err != nil {
		return nil, fmt.Errorf("start mariadbd on the restored data directory: %w", err)
	}
	defer srv.Stop()
	log.Printf("DRILL: mariadbd started on the restored data directory in %s", time.Since(start).Round(time.Millisecond))
	counts, err := mariaphys.CountRows(ctx, srv, b.DatabaseName)
	if err != nil {
		return nil, err
	}
	log.Printf("DRILL: %d tables in %s", len(counts), b.DatabaseName)
	return counts, nil
}
