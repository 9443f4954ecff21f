package engine

import (
	"context"
	"fmt"
	"io"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dump"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// Physical base backups (backup_type physical, PostgreSQL only) run
// pg_basebackup instead of pg_dump as the source of the same pipeline
// (compress → hash → encrypt → storage): the object is one tar of the whole
// cluster with the WAL needed for consistency, and the record and manifest
// carry its WAL start and stop points, timeline and system identifier.
// Restores of them go into a new data directory (restore_physical.go).

// checkPhysical refuses backup_type physical for a connection that cannot
// have one.
func checkPhysical(backupType, dbType string) error {
	if backupType == state.BackupPhysical && dbType != dbclient.PostgreSQL {
		return fault.Invalid(fmt.Sprintf("backup_type physical is not supported for %s connections (only postgresql)", dbType))
	}
	return nil
}

// objectExt is the extension of a backup's object before compression.
func objectExt(b state.Backup) string {
	if b.BackupType == state.BackupPhysical {
		return dump.PhysicalExt
	}
	return dump.Extension(b.DBType)
}

// runSource runs a backup's source into w: pg_basebackup for a physical
// backup (filling b.Physical), the logical dump otherwise.
func runSource(ctx context.Context, b *state.Backup, t dbclient.Target, tools dump.Tools, w io.Writer, log io.Writer) (dump.Result, error) {
	if b.BackupType != state.BackupPhysical {
		return dump.Dump(ctx, t, tools, w, log)
	}
	res, ph, err := dump.BaseBackup(ctx, t, tools, w, log)
	if err == nil {
		b.Physical = &state.PhysicalInfo{StartLSN: ph.StartLSN, StopLSN: ph.StopLSN, Timeline: ph.Timeline, SystemID: ph.SystemID}
	}
	return res, err
}
