package state

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// buildScheduleRunIndex (schema 5 → 6) rewrites the values of the backup
// index by schedule to hold each backup's status, type and last-run time
// (backups.go), from the backup records, in write batches. The keys do not
// change, so a rerun after a crash writes the same values again. The fields
// it reads are not secrets, so the records are decoded without unsealing.
func buildScheduleRunIndex(db *badger.DB) error {
	return inBatches(db, func(txn *badger.Txn, wb *badger.WriteBatch) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(string(KindBackup) + "/")})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var b backupIndexFields
			if err := it.Item().Value(func(raw []byte) error { return json.Unmarshal(raw, &b) }); err != nil {
				return fmt.Errorf("decode %s: %w", it.Item().Key(), err)
			}
			for _, e := range backupIndexEntries(b) {
				if !strings.HasPrefix(e.key, ixBackupSch) {
					continue
				}
				if err := wb.Set([]byte(e.key), []byte(e.val)); err != nil {
					return fmt.Errorf("index backup %s: %w", b.ID, err)
				}
			}
		}
		return nil
	})
}
