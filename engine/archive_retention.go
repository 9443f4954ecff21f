package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/pgwal"
	"github.com/jagad/jagad/engine/retention"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

// Retention of the continuous archives: after a retention pass over a
// connection's backups, the archived WAL (wal_archive) or binary logs
// (binlog_archive) that no kept backup replays go, as engine/retention's
// PruneWAL and PruneBinlogs decide (archived files before the start of the
// oldest kept successful physical backup; nothing while no such backup is
// kept, or while one is being taken). A file's manifest or descriptor goes
// first, then its object, oldest file first, so that what is left is
// always a contiguous archive. A failed deletion is logged and counted and
// stops the pass; the next pass retries it. It never fails the backup run.

// archivePruneMetrics count what archive retention deleted and failed to
// delete, by connection.
type archivePruneMetrics struct {
	deleted, errors *prometheus.CounterVec
}

func newArchivePruneMetrics(reg prometheus.Registerer, kind, what string) archivePruneMetrics {
	l := []string{"connection"}
	m := archivePruneMetrics{
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jagad_" + kind + "_retention_deleted_total",
			Help: what + " deleted by retention: older than the start of the oldest kept physical backup."}, l),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jagad_" + kind + "_retention_errors_total",
			Help: what + " retention could not delete (retried at the next retention pass)."}, l),
	}
	reg.MustRegister(m.deleted, m.errors)
	return m
}

// retainArchives prunes the archive of connection connID. Called with
// retMu held, after the connection's backups went through retention.
func (e *Engine) retainArchives(ctx context.Context, connID string) {
	var c state.Connection
	var backups []state.Backup
	err := e.store.View(func(tx *state.Tx) (err error) {
		if c, err = state.Get[state.Connection](tx, connID); err != nil {
			return err
		}
		backups, err = tx.ListBackups(state.BackupQuery{ConnectionID: connID})
		return err
	})
	if errors.Is(err, state.ErrNotFound) {
		return
	}
	if err != nil {
		e.log.Error("archive retention: read backups", "connection_id", connID, "err", err)
		return
	}
	switch {
	case c.DBType == dbclient.PostgreSQL && c.WalArchive != nil && c.WalArchive.Storage != "":
		e.retainWAL(ctx, c, backups)
	case (c.DBType == "mysql" || c.DBType == "mariadb") && c.BinlogArchive != nil:
		e.retainBinlogs(ctx, c, backups)
	}
}

// physicalBusy names a physical backup of the connection still being
// taken ("" when none): its start is not known yet, so the archive is left
// alone until the next pass.
func physicalBusy(backups []state.Backup) string {
	for _, b := range backups {
		if isPhysical(b.BackupType) && (b.Status == state.StatusQueued || b.Status == state.StatusRunning) {
			return b.ID
		}
	}
	return ""
}

// retainWAL prunes a PostgreSQL connection's WAL archive.
func (e *Engine) retainWAL(ctx context.Context, c state.Connection, backups []state.Backup) {
	log := e.log.With("connection", c.Name, "component", "wal-retention")
	if id := physicalBusy(backups); id != "" {
		log.Info("archive retention: WAL left alone while base backup is taken", "backup", id)
		return
	}
	var bases []retention.WALBase
	for _, b := range backups {
		if b.BackupType != state.BackupPhysical || b.Status != state.StatusSuccess {
			continue
		}
		wb := retention.WALBase{ID: b.ID}
		if b.Physical != nil {
			wb.Timeline, wb.StartLSN = b.Physical.Timeline, b.Physical.StartLSN
		}
		bases = append(bases, wb)
	}
	if len(bases) == 0 {
		return // nothing anchors the archive: everything is kept
	}
	st, err := e.walStoreOf(c)
	if err != nil {
		e.wal.m.prune.errors.WithLabelValues(c.Name).Inc()
		log.Error("archive retention: WAL storage", "err", err)
		return
	}
	keys, err := archiveKeys(ctx, st, walPrefix(c.Name), walFileOfKey)
	if err != nil {
		e.wal.m.prune.errors.WithLabelValues(c.Name).Inc()
		log.Error("archive retention: list WAL archive", "err", err)
		return
	}
	res := retention.PruneWAL(bases, mapKeys(keys))
	pruneArchive(ctx, st, res, keys, e.wal.m.prune, c.Name, log)
}

// retainBinlogs prunes a MySQL/MariaDB connection's binary log archive.
func (e *Engine) retainBinlogs(ctx context.Context, c state.Connection, backups []state.Backup) {
	log := e.log.With("connection", c.Name, "component", "binlog-retention")
	if id := physicalBusy(backups); id != "" {
		log.Info("archive retention: binary logs left alone while a physical backup is taken", "backup", id)
		return
	}
	var bases []retention.BinlogBase
	for _, b := range backups {
		if isPhysical(b.BackupType) && b.Status == state.StatusSuccess {
			bases = append(bases, retention.BinlogBase{ID: b.ID, File: b.BinlogFile})
		}
	}
	if len(bases) == 0 {
		return
	}
	m := e.binlogs.metrics.prune
	sink, err := e.binlogSinkFor(c)
	if err != nil {
		m.errors.WithLabelValues(c.Name).Inc()
		log.Error("archive retention: binary log storage", "err", err)
		return
	}
	keys, err := archiveKeys(ctx, sink.st, sink.prefix+"/", binlogFileOfKey)
	if err != nil {
		m.errors.WithLabelValues(c.Name).Inc()
		log.Error("archive retention: list binary log archive", "err", err)
		return
	}
	res := retention.PruneBinlogs(bases, mapKeys(keys))
	pruneArchive(ctx, sink.st, res, keys, m, c.Name, log)
}

// pruneArchive deletes the files res decided to delete, in archive order,
// each file's manifest or descriptor before its object. It stops at the
// first failure (a later file is never deleted before an earlier one, so
// no gap opens); an object under an object lock stops it quietly.
func pruneArchive(ctx context.Context, st storage.Store, res retention.ArchiveResult,
	keys map[string][]string, m archivePruneMetrics, conn string, log *slog.Logger) {
	n := 0
	for _, d := range res.Delete {
		err := deleteKeys(ctx, st, keys[d.Name])
		if errors.Is(err, storage.ErrLocked) {
			log.Info("archive retention: archived file kept until its object lock expires", "file", d.Name)
			break
		}
		if err != nil {
			m.errors.WithLabelValues(conn).Inc()
			log.Error("archive retention: delete failed; will retry at the next run", "file", d.Name, "reason", d.Reason, "err", err)
			break
		}
		m.deleted.WithLabelValues(conn).Inc()
		n++
	}
	if n > 0 {
		log.Info("archive retention: deleted archived files", "count", n, "first", res.Delete[0].Name,
			"last", res.Delete[n-1].Name, "reason", res.Delete[n-1].Reason)
	}
}

// deleteKeys deletes one archived file's keys: its manifest or descriptor
// first (the file leaves the archive's listing at once), then the rest.
func deleteKeys(ctx context.Context, st storage.Store, keys []string) error {
	keys = slices.Clone(keys)
	slices.SortStableFunc(keys, func(x, y string) int {
		return boolOrder(isArchiveIndex(y)) - boolOrder(isArchiveIndex(x))
	})
	for _, k := range keys {
		if err := st.Delete(ctx, k); err != nil {
			return fmt.Errorf("delete %s: %w", k, err)
		}
	}
	return nil
}

func isArchiveIndex(key string) bool {
	return strings.HasSuffix(key, objfmt.ManifestSuffix) || strings.HasSuffix(key, BinlogObjectSuffix)
}

func boolOrder(b bool) int {
	if b {
		return 1
	}
	return 0
}

// archiveKeys lists the keys under prefix (its direct children) by the
// archived file they belong to, as fileOf names it ("" = not a file of
// the archive: left alone).
func archiveKeys(ctx context.Context, st storage.Store, prefix string, fileOf func(rest string) string) (map[string][]string, error) {
	infos, err := st.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	out := map[string][]string{}
	for _, in := range infos {
		rest, ok := strings.CutPrefix(in.Key, prefix)
		if !ok || strings.Contains(rest, "/") {
			continue
		}
		if f := fileOf(rest); f != "" {
			out[f] = append(out[f], in.Key)
		}
	}
	return out, nil
}

func mapKeys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// walFileOfKey names the WAL file of a key under wal/<connection>/: a
// segment (24 hex digits) or a history file, followed by the object's
// extensions or the manifest suffix.
func walFileOfKey(rest string) string {
	for _, n := range []int{24, 16} {
		if len(rest) >= n && pgwal.IsArchivable(rest[:n]) && (len(rest) == n || rest[n] == '.') {
			return rest[:n]
		}
	}
	return ""
}

// binlogFileOfKey names the binary log of a key under
// binlogs/<connection>/: <base>.<digits> followed by the object's
// extensions or the descriptor suffix.
func binlogFileOfKey(rest string) string {
	if name, ok := strings.CutSuffix(rest, BinlogObjectSuffix); ok {
		if _, _, ok := binlogSeq(name); ok {
			return name
		}
		return ""
	}
	// The first dot followed by digits up to the next dot or the end.
	for i := 0; i < len(rest); i++ {
		if rest[i] != '.' || i == 0 {
			continue
		}
		j := i + 1
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if j > i+1 && (j == len(rest) || rest[j] == '.') {
			return rest[:j]
		}
	}
	return ""
}
