package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// A drop_existing restore of an existing database restores into a temporary
// database named after the target and the restore (dbclient.SwapNames) and
// swaps it in on success. A restore killed before the swap leaves the
// temporary database (and, on PostgreSQL, a swap killed after its commit
// leaves the old target under its old name): start-up crash recovery
// removes them for the interrupted restore's record, and a later
// drop_existing restore of the same target removes those of earlier failed
// restores whose removal did not happen (the server was down at start-up).

// swapTag is the part of a restore's id in its temporary database names.
func swapTag(restoreID string) string {
	hexPart := strings.TrimPrefix(restoreID, "res_")
	return strings.ToLower(hexPart[:min(len(hexPart), 10)])
}

// swapTagOr returns tag, or a random one for a restore without a record
// (jagad restore, offline).
func swapTagOr(tag string) string {
	if tag != "" {
		return tag
	}
	b := make([]byte, 5)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// restoreTypeOf is the request's restore type, RestoreFull when empty.
func restoreTypeOf(req RestoreRequest) string {
	if req.RestoreType == "" {
		return RestoreFull
	}
	return req.RestoreType
}

// checkRestoreType refuses an unknown restore type and a data-only restore
// that cannot work.
func checkRestoreType(dbType string, req RestoreRequest) error {
	switch restoreTypeOf(req) {
	case RestoreFull:
		return nil
	case RestoreDataOnly:
	default:
		return fault.Invalid(fmt.Sprintf("restore_type: unsupported value %q; supported: %s, %s",
			req.RestoreType, RestoreFull, RestoreDataOnly))
	}
	if dbType != dbclient.PostgreSQL {
		return fault.Invalid("restore_type: data-only is supported for PostgreSQL only: a " + dbType +
			" dump is one SQL script of DDL and data, and a dump without DDL cannot be made from a full one; use restore_type full")
	}
	if req.DropExisting {
		return fault.Invalid("restore_type: data-only restores rows into the target's existing tables; " +
			"it cannot be combined with drop_existing")
	}
	return nil
}

// swapIn replaces target with the restored temporary database. When the
// swap fails, what it left is removed: before the swap's commit the target
// is untouched.
func swapIn(ctx context.Context, t dbclient.Target, tmp, tag string, log restoreLog) error {
	start := time.Now()
	if err := dbclient.SwapDatabase(ctx, t, t.Database, tmp, tag); err != nil {
		log.Printf("RESTORE ERROR: %v", err)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if dropped, derr := dbclient.DropSwapLeftovers(cctx, t, t.Database, []string{tag}); derr != nil {
			log.Printf("RESTORE: could not remove the temporary databases of this restore: %v", derr)
		} else if len(dropped) > 0 {
			log.Printf("RESTORE: removed %s", strings.Join(dropped, ", "))
		}
		return err
	}
	log.Printf("RESTORE: swapped the restored database %s in as %s (the previous %s was dropped) in %s",
		tmp, t.Database, t.Database, time.Since(start).Round(time.Millisecond))
	return nil
}

// dropEarlierLeftovers removes the temporary databases of earlier failed
// drop_existing restores of the same target (best effort: a failure is
// logged and the restore goes on; its own names are new).
func (e *Engine) dropEarlierLeftovers(ctx context.Context, p restorePlan, rec state.Restore, log restoreLog) {
	var tags []string
	err := e.store.View(func(tx *state.Tx) error {
		all, err := state.List[state.Restore](tx)
		for _, r := range all {
			if r.ID != rec.ID && r.DropExisting && !r.Drill && r.Status == state.StatusFailed &&
				r.TargetConnection == rec.TargetConnection && r.TargetDatabase == rec.TargetDatabase {
				tags = append(tags, swapTag(r.ID))
			}
		}
		return err
	})
	if err != nil || len(tags) == 0 {
		return
	}
	slices.Sort(tags)
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	t := connTarget(p.conn, p.database)
	dropped, err := dbclient.DropSwapLeftovers(cctx, t, p.database, tags)
	if len(dropped) > 0 {
		log.Printf("RESTORE: removed what interrupted restores of %s left: %s", p.database, strings.Join(dropped, ", "))
		e.log.Info("removed leftovers of interrupted restores", "database", p.database, "dropped", dropped)
	}
	if err != nil {
		e.log.Warn("remove leftovers of interrupted restores", "database", p.database, "err", dbclient.Scrub(err.Error(), p.conn.Password.Reveal()))
	}
}

// dropInterruptedSwap removes the temporary databases of a drop_existing
// restore that a crash interrupted.
func (e *Engine) dropInterruptedSwap(ctx context.Context, r state.Restore) {
	var c state.Connection
	err := e.store.View(func(tx *state.Tx) (err error) {
		c, err = state.Get[state.Connection](tx, r.TargetConnection)
		return err
	})
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	dropped, err := dbclient.DropSwapLeftovers(ctx, connTarget(c, r.TargetDatabase), r.TargetDatabase, []string{swapTag(r.ID)})
	if err != nil {
		e.log.Warn("remove temporary databases of an interrupted restore (the next drop_existing restore of the database retries)",
			"restore", r.ID, "database", r.TargetDatabase, "connection", c.Name, "err", dbclient.Scrub(err.Error(), c.Password.Reveal()))
		return
	}
	if len(dropped) > 0 {
		e.log.Info("removed temporary databases of an interrupted restore", "restore", r.ID, "connection", c.Name, "dropped", dropped)
	}
}
