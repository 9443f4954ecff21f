package state

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Backup secondary indexes. Every key ends in "<inv>/<id>", where inv is
// MaxInt64 minus CreatedAt in Unix nanoseconds as 20 digits, so ascending key
// order is newest first. The values are small enough to stay inline in the
// LSM tree, so filters never read records: "connID\x00dbID\x00schedID" in
// the indexes by reference (schema 1), and that plus "\x00status\x00type" in
// the indexes by status and type (schema 3). The index by schedule holds that
// plus "\x00lastrun" (schema 6): the backup's start time (its creation time
// before it starts) in Unix nanoseconds, so a schedule's last run and status
// come from its newest entry without reading a record (LastScheduleRun).
const (
	ixBackup     = "ix/backup/"
	ixBackupAll  = ixBackup + "all/"
	ixBackupConn = ixBackup + "conn/"
	ixBackupDB   = ixBackup + "db/"
	ixBackupSch  = ixBackup + "sch/"
	ixBackupSt   = ixBackup + "st/"
	ixBackupTy   = ixBackup + "ty/"
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

// indexEntry is one secondary index key and its value.
type indexEntry struct{ key, val string }

// backupIndexFields are the fields of a backup the indexes hold.
type backupIndexFields struct {
	ID           string     `json:"id"`
	ConnectionID string     `json:"connection_id"`
	DatabaseID   string     `json:"database_id"`
	ScheduleID   string     `json:"schedule_id"`
	Status       string     `json:"status"`
	BackupType   string     `json:"backup_type"`
	CreatedAt    time.Time  `json:"created_at"`
	StartedAt    *time.Time `json:"started_at"`
}

func indexFieldsOf(b Backup) backupIndexFields {
	return backupIndexFields{ID: b.ID, ConnectionID: b.ConnectionID, DatabaseID: b.DatabaseID,
		ScheduleID: b.ScheduleID, Status: b.Status, BackupType: b.BackupType, CreatedAt: b.CreatedAt,
		StartedAt: b.StartedAt}
}

// lastRun is when b ran: its start, or its creation before it starts.
func (b backupIndexFields) lastRun() time.Time {
	if b.StartedAt != nil {
		return *b.StartedAt
	}
	return b.CreatedAt
}

// backupIndexEntries returns the index entries of b.
func backupIndexEntries(b backupIndexFields) []indexEntry {
	suffix := invertedNanos(b.CreatedAt) + "/" + b.ID
	refs := b.ConnectionID + "\x00" + b.DatabaseID + "\x00" + b.ScheduleID
	full := refs + "\x00" + b.Status + "\x00" + b.BackupType
	out := []indexEntry{{ixBackupAll + suffix, refs}}
	for _, ix := range []struct{ prefix, id, val string }{
		{ixBackupConn, b.ConnectionID, refs},
		{ixBackupDB, b.DatabaseID, refs},
		{ixBackupSch, b.ScheduleID, full + "\x00" + strconv.FormatInt(b.lastRun().UnixNano(), 10)},
		{ixBackupSt, b.Status, full},
		{ixBackupTy, b.BackupType, full},
	} {
		if ix.id != "" {
			out = append(out, indexEntry{ix.prefix + ix.id + "/" + suffix, ix.val})
		}
	}
	return out
}

// checkIndexFields refuses values that cannot be part of an index key.
func checkIndexFields(b Backup) error {
	for _, id := range []string{b.ConnectionID, b.DatabaseID, b.ScheduleID} {
		if id != "" {
			if err := checkID("put backup "+b.ID+": reference", id); err != nil {
				return err
			}
		}
	}
	for _, v := range []string{b.Status, b.BackupType} {
		if strings.ContainsAny(v, "/\x00") {
			return fmt.Errorf("put backup %s: status and type may not contain '/' or NUL: %q", b.ID, v)
		}
	}
	return nil
}

// indexBackup brings the indexes and stats from b's stored version (if any) to b.
func (tx *Tx) indexBackup(b Backup) error {
	if err := checkIndexFields(b); err != nil {
		return err
	}
	newEntries := backupIndexEntries(indexFieldsOf(b))
	old, err := tx.loadBackup(b.ID)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return err
	default:
		for _, e := range backupIndexEntries(indexFieldsOf(old)) {
			if !slices.ContainsFunc(newEntries, func(n indexEntry) bool { return n.key == e.key }) {
				if err := tx.txn.Delete([]byte(e.key)); err != nil {
					return fmt.Errorf("unindex backup %s: %w", b.ID, err)
				}
			}
		}
		if err := tx.adjustStats(old, -1); err != nil {
			return err
		}
	}
	for _, e := range newEntries {
		if err := tx.txn.Set([]byte(e.key), []byte(e.val)); err != nil {
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
	for _, e := range backupIndexEntries(indexFieldsOf(old)) {
		if err := tx.txn.Delete([]byte(e.key)); err != nil {
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

// LastScheduleRun reports the newest backup of a schedule (the first that
// ListBackups(BackupQuery{ScheduleID: id, Limit: 1}) returns): when it ran
// (started, or created before it starts) and its status; ok is false when
// the schedule has no backup. It reads one index entry, no record.
func (tx *Tx) LastScheduleRun(scheduleID string) (run time.Time, status string, ok bool, err error) {
	if err := tx.check(false); err != nil {
		return time.Time{}, "", false, err
	}
	if !queryable(BackupQuery{ScheduleID: scheduleID}) || scheduleID == "" {
		return time.Time{}, "", false, nil
	}
	prefix := []byte(ixBackupSch + scheduleID + "/")
	it := tx.txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, PrefetchSize: 1, Prefix: prefix})
	defer it.Close()
	it.Rewind()
	if !it.ValidForPrefix(prefix) {
		return time.Time{}, "", false, nil
	}
	var fields []string
	if err := it.Item().Value(func(v []byte) error { fields = strings.Split(string(v), "\x00"); return nil }); err != nil {
		return time.Time{}, "", false, fmt.Errorf("last run of schedule %s: %w", scheduleID, err)
	}
	if len(fields) != 6 {
		return time.Time{}, "", false, fmt.Errorf("last run of schedule %s: index entry %s has %d fields, want 6", scheduleID, it.Item().Key(), len(fields))
	}
	n, err := strconv.ParseInt(fields[5], 10, 64)
	if err != nil {
		return time.Time{}, "", false, fmt.Errorf("last run of schedule %s: index entry %s: %w", scheduleID, it.Item().Key(), err)
	}
	return time.Unix(0, n).UTC(), fields[3], true, nil
}
