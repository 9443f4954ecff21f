package engine

import (
	"errors"
	"time"

	"github.com/jagad/jagad/state"
)

// The verify and drill history of a backup (state.Backup.Checks): every
// verification and every restore drill adds one entry to the backup it
// checked, newest first, bounded by state.MaxBackupChecks.

// verifyCheck is the history entry of a verification that ended at now.
// Its duration comes from the start trackVerify noted (0 when the
// verification failed before reading the object).
func (e *Engine) verifyCheck(id, mode string, now time.Time, log *jobLog, err error) state.BackupCheck {
	c := state.BackupCheck{Kind: state.CheckVerify, Mode: mode, At: now, Result: state.VerifyPassed}
	if start, ok := e.progress.takeStart(id); ok {
		c.DurationMs = max(0, now.Sub(start).Milliseconds())
	}
	if err != nil {
		c.Result, c.Error = state.VerifyFailed, log.scrub(err.Error())
	}
	return c
}

// drillCount is what a drill counted in the restored database.
type drillCount struct {
	tables  int
	rows    int64
	counted bool // the counts were read and compared
	match   bool
}

// recordDrill adds a finished drill to its backup's history. A backup
// deleted meanwhile (retention) is left alone.
func (e *Engine) recordDrill(b state.Backup, rec state.Restore, n drillCount, log *jobLog, err error) {
	c := state.BackupCheck{Kind: state.CheckDrill, At: e.now().UTC(), DurationMs: rec.DurationMs,
		Result: state.VerifyPassed, RestoreID: rec.ID}
	if rec.CompletedAt != nil {
		c.At = *rec.CompletedAt
	}
	if n.counted {
		c.Tables, c.Rows, c.RowCounts = n.tables, n.rows, state.RowCountsDiffer
		if n.match {
			c.RowCounts = state.RowCountsMatch
		}
	}
	if err != nil {
		c.Result, c.Error = state.VerifyFailed, log.scrub(err.Error())
	}
	uerr := e.store.Update(func(tx *state.Tx) error {
		cur, err := state.Get[state.Backup](tx, b.ID)
		if err != nil {
			return err
		}
		cur.AddCheck(c)
		return state.Put(tx, cur)
	})
	if uerr != nil && !errors.Is(uerr, state.ErrNotFound) {
		e.log.Error("record drill on its backup", "backup", b.ID, "restore", rec.ID, "err", uerr)
	}
}
