package state

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Backup secondary indexes. Every key ends in "<inv>/<id>", where inv is
// MaxInt64 minus CreatedAt in Unix nanoseconds as 20 digits, so ascending key
// order is newest first. The value is "connID\x00dbID\x00schedID", small
// enough to stay inline in the LSM tree, so filters never read records.
const (
	ixBackupAll  = "ix/backup/all/"
	ixBackupConn = "ix/backup/conn/"
	ixBackupDB   = "ix/backup/db/"
	ixBackupSch  = "ix/backup/sch/"
)

// invertedNanos orders newer times first; times outside Unix nanoseconds'
// range are clamped.
func invertedNanos(t time.Time) string {
	var n int64
	switch {
	case t.Before(time.Unix(0, 0)):
		n = 0
	case t.After(time.Unix(0, math.MaxInt64)):
		n = math.MaxInt64
	default:
		n = t.UnixNano()
	}
	return fmt.Sprintf("%020d", math.MaxInt64-n)
}

// backupIndexKeys returns the index keys of b.
func backupIndexKeys(b Backup) []string {
	suffix := invertedNanos(b.CreatedAt) + "/" + b.ID
	keys := []string{ixBackupAll + suffix}
	if b.ConnectionID != "" {
		keys = append(keys, ixBackupConn+b.ConnectionID+"/"+suffix)
	}
	if b.DatabaseID != "" {
		keys = append(keys, ixBackupDB+b.DatabaseID+"/"+suffix)
	}
	if b.ScheduleID != "" {
		keys = append(keys, ixBackupSch+b.ScheduleID+"/"+suffix)
	}
	return keys
}

func backupIndexValue(b Backup) []byte {
	return []byte(b.ConnectionID + "\x00" + b.DatabaseID + "\x00" + b.ScheduleID)
}

// indexBackup brings the indexes and stats from b's stored version (if any) to b.
func (tx *Tx) indexBackup(b Backup) error {
	for _, id := range []string{b.ConnectionID, b.DatabaseID, b.ScheduleID} {
		if id != "" {
			if err := checkID("put backup "+b.ID+": reference", id); err != nil {
				return err
			}
		}
	}
	newKeys := backupIndexKeys(b)
	old, err := tx.loadBackup(b.ID)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return err
	default:
		for _, k := range backupIndexKeys(old) {
			if !contains(newKeys, k) {
				if err := tx.txn.Delete([]byte(k)); err != nil {
					return fmt.Errorf("unindex backup %s: %w", b.ID, err)
				}
			}
		}
		if err := tx.adjustStats(old, -1); err != nil {
			return err
		}
	}
	val := backupIndexValue(b)
	for _, k := range newKeys {
		if err := tx.txn.Set([]byte(k), val); err != nil {
			return fmt.Errorf("index backup %s: %w", b.ID, err)
		}
	}
	return tx.adjustStats(b, +1)
}

// unindexBackup removes the indexes and stats of the stored backup id;
// ErrNotFound when there is none.
func (tx *Tx) unindexBackup(id string) error {
	old, err := tx.loadBackup(id)
	if err != nil {
		return err
	}
	for _, k := range backupIndexKeys(old) {
		if err := tx.txn.Delete([]byte(k)); err != nil {
			return fmt.Errorf("unindex backup %s: %w", id, err)
		}
	}
	return tx.adjustStats(old, -1)
}

func (tx *Tx) loadBackup(id string) (Backup, error) {
	var b Backup
	err := tx.getValue(recordKey(KindBackup, id), &b)
	return b, err
}

// ListBackups lists backups newest first through the secondary indexes.
// The most selective index is scanned (schedule, database, connection, all)
// by key only; the other filters use the index values; Offset entries are
// skipped and only the Limit records returned are read.
func (tx *Tx) ListBackups(q BackupQuery) ([]Backup, error) {
	if err := tx.check(false); err != nil {
		return nil, err
	}
	for _, id := range []string{q.ConnectionID, q.DatabaseID, q.ScheduleID} {
		if strings.ContainsAny(id, "/\x00") {
			return nil, nil // no backup refers to such an ID
		}
	}
	ids, err := tx.queryBackupIndex(q)
	if err != nil {
		return nil, err
	}
	out := make([]Backup, 0, len(ids))
	for _, id := range ids {
		b, err := tx.loadBackup(id)
		if err != nil {
			return nil, fmt.Errorf("list backups: %w", err)
		}
		out = append(out, b)
	}
	return out, nil
}

// queryBackupIndex returns the IDs of the backups q selects, in index order.
func (tx *Tx) queryBackupIndex(q BackupQuery) ([]string, error) {
	prefix, filter := backupIndexPlan(q)
	it := tx.txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Prefix: []byte(prefix)})
	defer it.Close()
	skip := max(q.Offset, 0)
	var ids []string
	for it.Rewind(); it.ValidForPrefix([]byte(prefix)); it.Next() {
		if q.Limit > 0 && len(ids) >= q.Limit {
			break
		}
		item := it.Item()
		if filter != nil {
			var keep bool
			if err := item.Value(func(v []byte) error { keep = filter(v); return nil }); err != nil {
				return nil, fmt.Errorf("list backups: %w", err)
			}
			if !keep {
				continue
			}
		}
		if skip > 0 {
			skip--
			continue
		}
		key := string(item.Key())
		ids = append(ids, key[strings.LastIndexByte(key, '/')+1:])
	}
	return ids, nil
}

// backupIndexPlan picks the index prefix for q and the filter for the
// conditions that index does not cover (nil when it covers them all).
func backupIndexPlan(q BackupQuery) (string, func([]byte) bool) {
	var prefix string
	rest := q
	switch {
	case q.ScheduleID != "":
		prefix, rest.ScheduleID = ixBackupSch+q.ScheduleID+"/", ""
	case q.DatabaseID != "":
		prefix, rest.DatabaseID = ixBackupDB+q.DatabaseID+"/", ""
	case q.ConnectionID != "":
		prefix, rest.ConnectionID = ixBackupConn+q.ConnectionID+"/", ""
	default:
		return ixBackupAll, nil
	}
	if rest.ConnectionID == "" && rest.DatabaseID == "" && rest.ScheduleID == "" {
		return prefix, nil
	}
	return prefix, func(v []byte) bool {
		parts := strings.SplitN(string(v), "\x00", 3)
		if len(parts) != 3 {
			return false
		}
		return match(rest.ConnectionID, parts[0]) && match(rest.DatabaseID, parts[1]) && match(rest.ScheduleID, parts[2])
	}
}

// match reports whether an optional filter value accepts got.
func match(want, got string) bool { return want == "" || want == got }

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
