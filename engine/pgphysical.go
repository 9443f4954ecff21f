package engine

import (
	"context"
	"io"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dump"
	"github.com/jagad/jagad/state"
)

// Physical base backups (backup_type physical on a PostgreSQL connection; on
// mysql/mariadb it is mariadb-backup: physical.go) run
// pg_basebackup instead of pg_dump as the source of the same pipeline
// (compress → hash → encrypt → storage): the object is one tar of the whole
// cluster with the WAL needed for consistency, and the record and manifest
// carry its WAL start and stop points, timeline and system identifier.
// Restores of them go into a new data directory (restore_pgphysical.go).

// pgBaseBackup runs pg_basebackup into w for a PostgreSQL physical
// backup, filling b.Physical (called by runSource, physical.go).
func pgBaseBackup(ctx context.Context, b *state.Backup, t dbclient.Target, tools dump.Tools, w io.Writer, log io.Writer) (dump.Result, error) {
	res, ph, err := dump.BaseBackup(ctx, t, tools, w, log)
	if err == nil {
		b.Physical = &state.PhysicalInfo{StartLSN: ph.StartLSN, StopLSN: ph.StopLSN, Timeline: ph.Timeline, SystemID: ph.SystemID}
	}
	return res, err
}
