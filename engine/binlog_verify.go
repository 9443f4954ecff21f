package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

// verifyBinlogs checks, for a physical backup of a connection whose binary
// logs are archived, that the archive is continuous from the oldest kept
// physical backup's binary log on: every file of the sequence has its
// descriptor and its object, of the recorded size (deep: read through
// every check). A gap fails the verification, naming the missing file.
func (e *Engine) verifyBinlogs(ctx context.Context, b state.Backup, mode string, log *jobLog) error {
	if !isPhysical(b.BackupType) || b.BinlogFile == "" {
		return nil
	}
	var c state.Connection
	var all []state.Backup
	err := e.store.View(func(tx *state.Tx) (err error) {
		if c, err = state.Get[state.Connection](tx, b.ConnectionID); err != nil {
			return err
		}
		all, err = state.List[state.Backup](tx)
		return err
	})
	if errors.Is(err, state.ErrNotFound) {
		return nil // the connection is gone: no archive to follow
	}
	if err != nil {
		return err
	}
	if c.BinlogArchive == nil || !c.BinlogArchive.Enabled {
		return nil
	}
	first := b.BinlogFile
	for _, o := range all {
		if o.ConnectionID == b.ConnectionID && isPhysical(o.BackupType) && o.Status == state.StatusSuccess &&
			o.BinlogFile != "" && compareBinlogNames(o.BinlogFile, first) < 0 {
			first = o.BinlogFile
		}
	}
	sink, objs, err := e.archivedBinlogs(ctx, b.ConnectionID, first)
	if err != nil {
		return fmt.Errorf("binary log archive: %w", err)
	}
	if mode == VerifyDeep {
		if err := e.checkBinlogs(ctx, sink, objs); err != nil {
			return fmt.Errorf("binary log archive: %w", err)
		}
	} else {
		for _, o := range objs {
			info, err := sink.st.Stat(ctx, o.ObjectKey)
			switch {
			case errors.Is(err, storage.ErrNotFound):
				return fmt.Errorf("binary log archive: binary log %s is missing (%s)", o.File, o.ObjectKey)
			case err != nil:
				return fmt.Errorf("binary log archive: %s: %w", o.File, err)
			case info.Size != o.StoredSizeBytes:
				return fmt.Errorf("binary log archive: binary log %s (%s) is %d bytes, %d were stored", o.File, o.ObjectKey, info.Size, o.StoredSizeBytes)
			}
		}
	}
	log.Printf("VERIFY: binary log archive continuous from %s to %s (%d file(s))", objs[0].File, objs[len(objs)-1].File, len(objs))
	return nil
}
