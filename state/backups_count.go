package state

import (
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// CountBackups returns how many backups q selects, ignoring its Limit and
// Offset (the total behind a page). Without filters it is the stored
// aggregate, O(1); with filters it walks the narrowest index, keys only
// unless two filters need the index value.
func (tx *Tx) CountBackups(q BackupQuery) (int, error) {
	if err := tx.check(false); err != nil {
		return 0, err
	}
	if q.ConnectionID == "" && q.DatabaseID == "" && q.ScheduleID == "" {
		agg, err := tx.loadStats()
		if err != nil {
			return 0, err
		}
		return int(agg.Total), nil
	}
	for _, id := range []string{q.ConnectionID, q.DatabaseID, q.ScheduleID} {
		if strings.ContainsAny(id, "/\x00") {
			return 0, nil // no backup refers to such an ID
		}
	}
	prefix, filter := backupIndexPlan(q)
	it := tx.txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Prefix: []byte(prefix)})
	defer it.Close()
	n := 0
	for it.Rewind(); it.ValidForPrefix([]byte(prefix)); it.Next() {
		if filter != nil {
			var keep bool
			if err := it.Item().Value(func(v []byte) error { keep = filter(v); return nil }); err != nil {
				return 0, fmt.Errorf("count backups: %w", err)
			}
			if !keep {
				continue
			}
		}
		n++
	}
	return n, nil
}
