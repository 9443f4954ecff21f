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
	var best state.Backup
	for _, c := range all {
		if c.ConnectionID != b.ConnectionID || !isPhysical(c.BackupType) || c.Status != state.StatusSuccess ||
			c.BinlogFile == "" || c.CompletedAt == nil || c.CompletedAt.After(target) {
			continue
		}
		if best.CompletedAt == nil || c.CompletedAt.After(*best.CompletedAt) {
			best = c
		}
	}
	if best.ID == "" {
		return best, fmt.Errorf("target_time %s: no physical backup of connection %s with binary log coordinates completed at or before it",
			target.UTC().Format(time.RFC3339), b.ConnectionName)
	}
	return best, nil
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
	names, err := listBinlogObjects(ctx, sink.st, sink.prefix)
	if err != nil {
		return nil, nil, err
	}
	var objs []BinlogObject
	want := first
	for _, n := range names {
		if compareBinlogNames(n, first) < 0 {
			continue
		}
		if n != want {
			return nil, nil, fmt.Errorf("binary log %s is missing from the archive (%s/%s): the archived sequence jumps to %s", want, sink.prefix, want, n)
		}
		o, err := readBinlogObject(ctx, sink.st, sink.prefix, n)
		if err != nil {
			return nil, nil, err
		}
		objs = append(objs, o)
		if want, err = nextBinlogName(n); err != nil {
			return nil, nil, err
		}
	}
	if len(objs) == 0 {
		return nil, nil, fmt.Errorf("binary log %s is missing from the archive (%s/%s)", first, sink.prefix, first)
	}
	return sink, objs, nil
}

// checkBinlogs reads every object through all its checks (size,
// checksums, decryption, decompression).
func (e *Engine) checkBinlogs(ctx context.Context, sink *binlogSink, objs []BinlogObject) error {
	kr, err := e.opts.Keys()
	if err != nil {
		return fmt.Errorf("encryption keyring: %w", err)
	}
	for _, o := range objs {
		d, err := objfmt.CheckObject(ctx, sink.st, o.spec(), objfmt.Keys{Ring: kr}, true)
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
func (e *Engine) fetchBinlogs(ctx context.Context, sink *binlogSink, objs []BinlogObject, dir string) ([]string, error) {
	kr, err := e.opts.Keys()
	if err != nil {
		return nil, fmt.Errorf("encryption keyring: %w", err)
	}
	paths := make([]string, len(objs))
	for i, o := range objs {
		paths[i] = filepath.Join(dir, o.File)
		if err := fetchOne(ctx, sink, o, objfmt.Keys{Ring: kr}, paths[i]); err != nil {
			return nil, fmt.Errorf("binary log %s: %w", o.File, err)
		}
	}
	return paths, nil
}

func fetchOne(ctx context.Context, sink *binlogSink, o BinlogObject, keys objfmt.Keys, path string) error {
	d, err := objfmt.OpenDump(ctx, sink.st, o.spec(), keys)
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
func (e *Engine) restorePITR(ctx context.Context, base state.Backup, target time.Time, targetDir string, log *jobLog) error {
	log.Printf("PITR: base %s (%s, completed %s), binary logs from %s:%d, up to %s", base.ID, base.BackupType,
		base.CompletedAt.UTC().Format(time.RFC3339), base.BinlogFile, base.BinlogPos, target.UTC().Format(time.RFC3339))
	sink, objs, err := e.archivedBinlogs(ctx, base.ConnectionID, base.BinlogFile)
	if err != nil {
		return err
	}
	// Verify first: the binary logs here, the chain's links in
	// mariaphys.Restore, all before anything is written.
	if err := e.checkBinlogs(ctx, sink, objs); err != nil {
		return err
	}
	last := objs[len(objs)-1]
	log.Printf("PITR: %d archived binary log(s) checked, %s to %s", len(objs), objs[0].File, last.File)
	if last.ArchivedAt.Before(target) {
		log.Printf("PITR: note: the newest archived binary log (%s) was archived at %s, before target_time; events after it are not in the archive",
			last.File, last.ArchivedAt.Format(time.RFC3339))
	}
	if err := e.restoreChain(ctx, base, targetDir, log); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "jagad-pitr-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(work) }()
	files, err := e.fetchBinlogs(ctx, sink, objs, work)
	if err != nil {
		return err
	}
	srv, err := mariaphys.StartServer(ctx, mariaphys.ServerOptions{Datadir: targetDir, SkipGrants: true})
	if err != nil {
		return fmt.Errorf("start mariadbd on the restored data directory: %w", err)
	}
	defer srv.Stop()
	if err := mariaphys.ReplayBinlogs(ctx, srv, mariaphys.ReplayOptions{Files: files, StartPos: base.BinlogPos, Stop: target, Log: log}); err != nil {
		return err
	}
	log.Printf("PITR: %s restored to %s", targetDir, target.UTC().Format(time.RFC3339))
	return nil
}
