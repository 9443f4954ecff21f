package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/jagad/jagad/engine/mariaphys"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

// Point-in-time recovery of a MariaDB/MySQL server (restore with
// target_time): the newest physical backup of the connection completed at
// or before target_time is restored with its chain into target_dir, a
// throwaway mariadbd is started on it, and the archived binary logs
// (binlog_archive.go) are replayed from the backup's binary log position
// up to target_time (mariadb-binlog --stop-datetime: events at or after it
// are not applied). Every chain link and every binary log object is
// checked before anything is written.

// pitrBase is the backup a point-in-time restore starts from: the newest
// successful physical backup of b's connection with binary log
// coordinates, completed at or before target.
func (e *Engine) pitrBase(b state.Backup, target time.Time) (state.Backup, error) {
	if target.After(e.now()) {
		return state.Backup{}, fmt.Errorf("target_time %s is in the future", target.UTC().Format(time.RFC3339))
	}
	var all []state.Backup
	var c state.Connection
	err := e.store.View(func(tx *state.Tx) (err error) {
		if c, err = state.Get[state.Connection](tx, b.ConnectionID); err != nil {
			return fmt.Errorf("connection of %s: %w", b.ID, err)
		}
		all, err = state.List[state.Backup](tx)
		return err
	})
	if err != nil {
		return state.Backup{}, err
	}
	if c.BinlogArchive == nil || !c.BinlogArchive.Enabled {
		return state.Backup{}, fmt.Errorf("target_time: connection %s does not archive its binary logs (binlog_archive)", c.Name)
	}
	best := newestBinlogBase(all, b.ConnectionID, target)
	if best.ID == "" {
		return best, fmt.Errorf("target_time %s: no physical backup of connection %s with binary log coordinates completed at or before it",
			target.UTC().Format(time.RFC3339), b.ConnectionName)
	}
	return best, nil
}

// newestBinlogBase is the newest successful physical backup of connID in
// all with binary log coordinates, completed at or before target (ID ""
// when there is none).
func newestBinlogBase(all []state.Backup, connID string, target time.Time) state.Backup {
	var best state.Backup
	for _, c := range all {
		if c.ConnectionID != connID || !isPhysical(c.BackupType) || c.Status != state.StatusSuccess ||
			c.BinlogFile == "" || c.CompletedAt == nil || c.CompletedAt.After(target) {
			continue
		}
		if best.CompletedAt == nil || c.CompletedAt.After(*best.CompletedAt) {
			best = c
		}
	}
	return best
}

// archivedBinlogs are a connection's archived binary logs from first on,
// checked for continuity: a gap in the sequence names the missing file.
func (e *Engine) archivedBinlogs(ctx context.Context, connID, first string) (*binlogSink, []BinlogObject, error) {
	var c state.Connection
	if err := e.store.View(func(tx *state.Tx) (err error) { c, err = state.Get[state.Connection](tx, connID); return err }); err != nil {
		return nil, nil, fmt.Errorf("connection of the binary logs: %w", err)
	}
	sink, err := e.binlogSinkFor(c)
	if err != nil {
		return nil, nil, err
	}
	objs, err := binlogsFrom(ctx, sink.st, sink.prefix, first)
	if err != nil {
		return nil, nil, err
	}
	return sink, objs, nil
}

// binlogsFrom reads the descriptors of the binary logs archived under
// prefix on st from first on, checked for continuity: a gap in the
// sequence names the missing file.
func binlogsFrom(ctx context.Context, st storage.Store, prefix, first string) ([]BinlogObject, error) {
	names, err := listBinlogObjects(ctx, st, prefix)
	if err != nil {
		return nil, err
	}
	var objs []BinlogObject
	want := first
	for _, n := range names {
		if compareBinlogNames(n, first) < 0 {
			continue
		}
		if n != want {
			return nil, fmt.Errorf("binary log %s is missing from the archive (%s/%s): the archived sequence jumps to %s", want, prefix, want, n)
		}
		o, err := readBinlogObject(ctx, st, prefix, n)
		if err != nil {
			return nil, err
		}
		objs = append(objs, o)
		if want, err = nextBinlogName(n); err != nil {
			return nil, err
		}
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("binary log %s is missing from the archive (%s/%s)", first, prefix, first)
	}
	return objs, nil
}

// checkBinlogs reads every object through all its checks (size,
// checksums, decryption, decompression).
func (e *Engine) checkBinlogs(ctx context.Context, sink *binlogSink, objs []BinlogObject) error {
	kr, err := e.opts.Keys()
	if err != nil {
		return fmt.Errorf("encryption keyring: %w", err)
	}
	return checkBinlogObjects(ctx, sink.st, objs, objfmt.Keys{Ring: kr})
}

// checkBinlogObjects reads every object on st through all its checks.
func checkBinlogObjects(ctx context.Context, st storage.Store, objs []BinlogObject, keys objfmt.Keys) error {
	for _, o := range objs {
		d, err := objfmt.CheckObject(ctx, st, o.spec(), keys, true)
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("binary log %s is missing (%s)", o.File, o.ObjectKey)
		}
		if err != nil {
			if d != nil {
				if stage, cause := objfmt.CauseOf(d, err); cause != nil {
					err = fmt.Errorf("%s: %w", stage, cause)
				}
			}
			return fmt.Errorf("binary log %s (%s): %w", o.File, o.ObjectKey, err)
		}
	}
	return nil
}

// fetchBinlogs writes the objects, decrypted and decompressed, into dir.
func fetchBinlogs(ctx context.Context, st storage.Store, objs []BinlogObject, keys objfmt.Keys, dir string) ([]string, error) {
	paths := make([]string, len(objs))
	for i, o := range objs {
		paths[i] = filepath.Join(dir, o.File)
		if err := fetchOne(ctx, st, o, keys, paths[i]); err != nil {
			return nil, fmt.Errorf("binary log %s: %w", o.File, err)
		}
	}
	return paths, nil
}

func fetchOne(ctx context.Context, st storage.Store, o BinlogObject, keys objfmt.Keys, path string) error {
	d, err := objfmt.OpenDump(ctx, st, o.spec(), keys)
	if err != nil {
		return err
	}
	defer d.Close()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, d); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// restorePITR restores base's chain into targetDir and replays the
// archived binary logs up to target (the caller holds a slot).
func (e *Engine) restorePITR(ctx context.Context, base state.Backup, target time.Time, targetDir string, log restoreLog) error {
	logPITRBase(log, base, target)
	sink, objs, err := e.archivedBinlogs(ctx, base.ConnectionID, base.BinlogFile)
	if err != nil {
		return err
	}
	kr, err := e.opts.Keys()
	if err != nil {
		return fmt.Errorf("encryption keyring: %w", err)
	}
	return replayPITR(ctx, binlogPITR{st: sink.st, objs: objs, keys: objfmt.Keys{Ring: kr}, base: base, target: target, dir: targetDir,
		restoreChain: func(ctx context.Context) error { return e.restoreChain(ctx, base, targetDir, log) }}, log)
}

func logPITRBase(log restoreLog, base state.Backup, target time.Time) {
	log.Printf("PITR: base %s (%s, completed %s), binary logs from %s:%d, up to %s", base.ID, base.BackupType,
		base.CompletedAt.UTC().Format(time.RFC3339), base.BinlogFile, base.BinlogPos, target.UTC().Format(time.RFC3339))
}

// binlogPITR is a binary-log point-in-time restore resolved to its
// objects: the daemon's (restorePITR) and the offline `jagad restore
// --target-dir --to-time` (restore_offline_dir.go) run it.
type binlogPITR struct {
	st     storage.Store  // where objs are
	objs   []BinlogObject // from base.BinlogFile on, continuous
	keys   objfmt.Keys
	base   state.Backup // its binary log coordinates start the replay
	target time.Time
	dir    string
	// restoreChain restores base's chain into dir (checking every link first).
	restoreChain func(context.Context) error
}

// replayPITR checks every binary log, restores the chain, starts a
// throwaway mariadbd on it and replays the binary logs up to p.target.
func replayPITR(ctx context.Context, p binlogPITR, log restoreLog) error {
	// Verify first: the binary logs here, the chain's links in
	// mariaphys.Restore, all before anything is written.
	if err := checkBinlogObjects(ctx, p.st, p.objs, p.keys); err != nil {
		return err
	}
	last := p.objs[len(p.objs)-1]
	log.Printf("PITR: %d archived binary log(s) checked, %s to %s", len(p.objs), p.objs[0].File, last.File)
	if last.ArchivedAt.Before(p.target) {
		log.Printf("PITR: note: the newest archived binary log (%s) was archived at %s, before target_time; events after it are not in the archive",
			last.File, last.ArchivedAt.Format(time.RFC3339))
	}
	if err := p.restoreChain(ctx); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "jagad-pitr-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(work) }()
	files, err := fetchBinlogs(ctx, p.st, p.objs, p.keys, work)
	if err != nil {
		return err
	}
	srv, err := mariaphys.StartServer(ctx, mariaphys.ServerOptions{Datadir: p.dir, SkipGrants: true})
	if err != nil {
		return fmt.Errorf("start mariadbd on the restored data directory: %w", err)
	}
	defer srv.Stop()
	if err := mariaphys.ReplayBinlogs(ctx, srv, mariaphys.ReplayOptions{Files: files, StartPos: p.base.BinlogPos, Stop: p.target, Log: log}); err != nil {
		return err
	}
	log.Printf("PITR: %s restored to %s", p.dir, p.target.UTC().Format(time.RFC3339))
	return nil
}
