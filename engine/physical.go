package engine

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dump"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// Physical backups (MariaDB/MySQL, mariadb-backup) and their chains.
//
// backup_type "physical" is a full physical backup: a chain's base, its
// ChainID its own ID. backup_type "incremental" copies the pages changed
// since its parent's to_lsn: the parent is the newest successful link of
// the same schedule (one-shots: of the same connection and database, not
// made by a schedule) whose whole chain is still there, successful. Without
// one, or when the chain already holds the schedule's retention_incr
// incrementals (so that retention can let old chains go), the run is a
// physical full instead, and ChainNote and the log say why.

// Backup types.
const (
	TypePhysical    = "physical"
	TypeIncremental = "incremental"
)

// isPhysical reports whether a backup type is physical (restores into a
// data directory): mariadb-backup on mysql/mariadb connections,
// pg_basebackup (physical only) on PostgreSQL ones (pgphysical.go).
func isPhysical(t string) bool { return t == TypePhysical || t == TypeIncremental }

// isPGPhysical reports whether b is a PostgreSQL base backup (pgphysical.go).
func isPGPhysical(b state.Backup) bool {
	return b.BackupType == TypePhysical && b.DBType == dbclient.PostgreSQL
}

// checkPhysical refuses, up front, a physical or incremental backup a
// connection cannot have: incremental is mysql/mariadb-only (PostgreSQL's
// continuous WAL archive is wal_archive, not a backup_type).
func checkPhysical(backupType, dbType string) error {
	if backupType == TypeIncremental && dbType == dbclient.PostgreSQL {
		return fault.Invalid("backup_type incremental is for mysql and mariadb connections; a postgresql connection takes full or physical (pg_basebackup), and wal_archive for point-in-time recovery")
	}
	return nil
}

// physicalExt is the object extension of an xbstream.
const physicalExt = ".xbstream"

// planChain resolves an incremental's parent, or turns it into a full.
func (e *Engine) planChain(b *state.Backup, j *job, log *jobLog) error {
	if j.conn.DBType == dbclient.PostgreSQL {
		return errors.New("incremental backups are for mysql and mariadb connections")
	}
	if j.conn.Physical == nil {
		return fmt.Errorf("connection %q does not declare physical (its data directory): physical backups cannot run", j.conn.Name)
	}
	if b.BackupType == TypePhysical {
		b.ChainID = b.ID
		return nil
	}
	var parent *state.Backup
	var note string
	err := e.store.View(func(tx *state.Tx) error {
		var err error
		parent, note, err = chainParent(tx, *b, j.schedule)
		return err
	})
	if err != nil {
		return err
	}
	if parent == nil {
		b.BackupType, b.ChainID, b.ChainNote = TypePhysical, b.ID, note
		log.Printf("CHAIN: incremental requested, taking a physical full instead: %s", note)
		e.log.Warn("incremental became a full", "backup", b.ID, "reason", note)
		return nil
	}
	b.ParentID, b.ChainID, b.FromLSN = parent.ID, parent.ChainID, parent.ToLSN
	log.Printf("CHAIN: incremental on %s (chain %s) from LSN %d", parent.ID, parent.ChainID, parent.ToLSN)
	return nil
}

// chainParent finds an incremental's parent; nil with a reason when there
// is none to use.
func chainParent(tx *state.Tx, b state.Backup, sched *state.Schedule) (*state.Backup, string, error) {
	q := state.BackupQuery{ConnectionID: b.ConnectionID, DatabaseID: b.DatabaseID, ScheduleID: b.ScheduleID}
	all, err := tx.ListBackups(q) // newest first
	if err != nil {
		return nil, "", err
	}
	var cand *state.Backup
	for i := range all {
		c := all[i]
		if c.ID == b.ID || !isPhysical(c.BackupType) || c.ScheduleID != b.ScheduleID {
			continue
		}
		if c.Status == state.StatusSuccess && c.ToLSN > 0 {
			cand = &all[i]
			break
		}
	}
	if cand == nil {
		return nil, "no earlier successful physical backup to build on", nil
	}
	chain, err := ChainOf(tx, *cand)
	if err != nil {
		return nil, fmt.Sprintf("the chain of %s is unusable: %v", cand.ID, err), nil
	}
	if sched != nil && sched.RetentionIncr > 0 && len(chain)-1 >= sched.RetentionIncr {
		return nil, fmt.Sprintf("chain %s already holds %d incrementals (retention_incr %d); starting a new chain",
			cand.ChainID, len(chain)-1, sched.RetentionIncr), nil
	}
	return cand, "", nil
}

// ChainOf returns the chain ending at b, oldest (the full) first, checking
// that every link exists, succeeded and continues its parent's LSN.
func ChainOf(tx *state.Tx, b state.Backup) ([]state.Backup, error) {
	return chainWith(b, func(id string) (state.Backup, error) { return state.Get[state.Backup](tx, id) })
}

// chainWith is ChainOf with the records read by get (state.ErrNotFound
// for a missing one): the store's, or the manifests' of an offline restore.
func chainWith(b state.Backup, get func(id string) (state.Backup, error)) ([]state.Backup, error) {
	chain := []state.Backup{b}
	for cur := b; cur.BackupType == TypeIncremental; {
		if cur.ParentID == "" {
			return nil, fmt.Errorf("incremental %s has no parent", cur.ID)
		}
		p, err := get(cur.ParentID)
		if errors.Is(err, state.ErrNotFound) {
			return nil, fmt.Errorf("parent %s of %s is missing", cur.ParentID, cur.ID)
		}
		if err != nil {
			return nil, err
		}
		if p.Status != state.StatusSuccess {
			return nil, fmt.Errorf("parent %s of %s has status %s", p.ID, cur.ID, p.Status)
		}
		if cur.FromLSN != p.ToLSN {
			return nil, fmt.Errorf("%s starts at LSN %d but its parent %s ends at %d", cur.ID, cur.FromLSN, p.ID, p.ToLSN)
		}
		if len(chain) > 10000 {
			return nil, errors.New("chain too long (a parent loop?)")
		}
		chain = append(chain, p)
		cur = p
	}
	if chain[len(chain)-1].BackupType != TypePhysical {
		return nil, fmt.Errorf("chain of %s does not start with a physical full", b.ID)
	}
	for i, k := 0, len(chain)-1; i < k; i, k = i+1, k-1 {
		chain[i], chain[k] = chain[k], chain[i]
	}
	return chain, nil
}

// runSource streams the backup's source into w: a logical dump, or
// mariadb-backup for physical types (which fills the LSNs of b).
func (e *Engine) runSource(ctx context.Context, b *state.Backup, j *job, settings state.Settings, w io.Writer, log *jobLog) (dump.Result, error) {
	target := connTarget(j.conn, b.DatabaseName)
	if !isPhysical(b.BackupType) {
		return dump.Dump(ctx, target, e.tools(settings), w, log)
	}
	if isPGPhysical(*b) {
		return pgBaseBackup(ctx, b, target, e.tools(settings), w, log) // pgphysical.go
	}
	o := dump.PhysicalOptions{Datadir: j.conn.Physical.Datadir, IncrementalLSN: b.FromLSN,
		Tool: e.tools(settings).MariadbBackup}
	if b.BackupType == TypePhysical {
		o.IncrementalLSN = 0
	}
	pr, err := dump.Physical(ctx, target, o, w, log)
	res := dump.Result{ToolVersion: pr.ToolVersion, ServerVersion: pr.ServerVersion, Bytes: pr.Bytes}
	if err != nil {
		return res, err
	}
	if b.BackupType == TypeIncremental && pr.Checkpoints.FromLSN != b.FromLSN {
		return res, fmt.Errorf("mariadb-backup started at LSN %d, not at the parent's %d", pr.Checkpoints.FromLSN, b.FromLSN)
	}
	b.FromLSN, b.ToLSN = pr.Checkpoints.FromLSN, pr.Checkpoints.ToLSN
	b.BinlogFile, b.BinlogPos = pr.BinlogFile, pr.BinlogPos
	res.Tables = pr.Tables // counted beside the copy
	return res, nil
}
