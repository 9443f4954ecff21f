package state

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// ListBackups lists backups newest first through the secondary indexes.
// One index is scanned by key (status or type when q has them, the rarer of
// the two by the stats; else schedule, database, connection, all); the other
// filters use the index values; Offset entries are skipped and only the Limit
// records returned are read.
func (tx *Tx) ListBackups(q BackupQuery) ([]Backup, error) {
	if err := tx.check(false); err != nil {
		return nil, err
	}
	if !queryable(q) {
		return nil, nil // no backup has such a value
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

// CountBackups counts the backups q selects, ignoring its Limit and Offset,
// without reading a record: from the stats when q filters on at most one of
// status and type, else by scanning one index.
func (tx *Tx) CountBackups(q BackupQuery) (int64, error) {
	if err := tx.check(false); err != nil {
		return 0, err
	}
	if !queryable(q) {
		return 0, nil
	}
	if q.ConnectionID == "" && q.DatabaseID == "" && q.ScheduleID == "" {
		st, err := tx.loadStats()
		if err != nil {
			return 0, err
		}
		switch {
		case q.Status == "" && q.BackupType == "":
			return st.Total, nil
		case q.BackupType == "":
			return st.ByStatus[q.Status], nil
		case q.Status == "":
			return st.ByType[q.BackupType], nil
		}
	}
	var n int64
	err := tx.scanBackupIndex(q, func(string) bool { n++; return true })
	return n, err
}

// queryable reports whether a backup can match q's filter values, which
// are parts of index keys.
func queryable(q BackupQuery) bool {
	for _, v := range []string{q.ConnectionID, q.DatabaseID, q.ScheduleID, q.Status, q.BackupType} {
		if strings.ContainsAny(v, "/\x00") {
			return false
		}
	}
	return true
}

// queryBackupIndex returns the IDs of the backups q selects, in index order.
func (tx *Tx) queryBackupIndex(q BackupQuery) ([]string, error) {
	skip := max(q.Offset, 0)
	var ids []string
	err := tx.scanBackupIndex(q, func(key string) bool {
		if skip > 0 {
			skip--
			return true
		}
		ids = append(ids, key[strings.LastIndexByte(key, '/')+1:])
		return q.Limit <= 0 || len(ids) < q.Limit
	})
	return ids, err
}

// scanBackupIndex calls fn with the key of every index entry q selects, in
// index order, until fn returns false.
func (tx *Tx) scanBackupIndex(q BackupQuery, fn func(key string) bool) error {
	prefix, rest, err := tx.backupIndexPlan(q)
	if err != nil {
		return err
	}
	filtered := rest != (BackupQuery{})
	it := tx.txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Prefix: []byte(prefix)})
	defer it.Close()
	for it.Rewind(); it.ValidForPrefix([]byte(prefix)); it.Next() {
		item := it.Item()
		if filtered {
			var keep bool
			if err := item.Value(func(v []byte) error { keep = rest.matches(v); return nil }); err != nil {
				return fmt.Errorf("list backups: %w", err)
			}
			if !keep {
				continue
			}
		}
		if !fn(string(item.Key())) {
			return nil
		}
	}
	return nil
}

// backupIndexPlan picks the index prefix for q and returns the conditions
// that index does not cover, to be checked on the index values. The status
// and type indexes hold every field in their values, so any filter combines
// with them; the others hold only the references.
func (tx *Tx) backupIndexPlan(q BackupQuery) (string, BackupQuery, error) {
	rest := BackupQuery{ConnectionID: q.ConnectionID, DatabaseID: q.DatabaseID, ScheduleID: q.ScheduleID,
		Status: q.Status, BackupType: q.BackupType}
	byStatus := q.Status != ""
	if q.Status != "" && q.BackupType != "" {
		st, err := tx.loadStats()
		if err != nil {
			return "", rest, err
		}
		byStatus = st.ByStatus[q.Status] <= st.ByType[q.BackupType]
	}
	switch {
	case byStatus:
		rest.Status = ""
		return ixBackupSt + q.Status + "/", rest, nil
	case q.BackupType != "":
		rest.BackupType = ""
		return ixBackupTy + q.BackupType + "/", rest, nil
	case q.ScheduleID != "":
		rest.ScheduleID = ""
		return ixBackupSch + q.ScheduleID + "/", rest, nil
	case q.DatabaseID != "":
		rest.DatabaseID = ""
		return ixBackupDB + q.DatabaseID + "/", rest, nil
	case q.ConnectionID != "":
		rest.ConnectionID = ""
		return ixBackupConn + q.ConnectionID + "/", rest, nil
	}
	return ixBackupAll, rest, nil
}

// matches reports whether an index value ("conn\x00db\x00sched", with
// "\x00status\x00type" in the status and type indexes) passes q's filters.
// Missing fields are empty, so a value without status and type fails a
// filter on them.
func (q BackupQuery) matches(v []byte) bool {
	for _, want := range [...]string{q.ConnectionID, q.DatabaseID, q.ScheduleID, q.Status, q.BackupType} {
		field := v
		if i := bytes.IndexByte(v, 0); i >= 0 {
			field, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if want != "" && string(field) != want {
			return false
		}
	}
	return true
}
