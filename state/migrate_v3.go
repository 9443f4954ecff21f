package state

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// buildStatusTypeIndexes (schema 2 → 3) builds the backup indexes by status
// and by type from the backup records, in write batches: a data dir can hold
// more backups than one transaction can index. Entries already under those
// prefixes (from an interrupted run) are deleted first, so every backup ends
// with exactly its own. It runs while the store is being opened, before
// anyone else can write. The fields it reads are not secrets, so the records
// are decoded without unsealing.
func buildStatusTypeIndexes(db *badger.DB) error {
	err := inBatches(db, func(txn *badger.Txn, wb *badger.WriteBatch) error {
		for _, prefix := range []string{ixBackupSt, ixBackupTy} {
			if err := eachKey(txn, prefix, wb.Delete); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil { // deletions are flushed before the new entries are written
		return fmt.Errorf("clear status and type indexes: %w", err)
	}
	return inBatches(db, func(txn *badger.Txn, wb *badger.WriteBatch) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(string(KindBackup) + "/")})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var b backupIndexFields
			if err := it.Item().Value(func(raw []byte) error { return json.Unmarshal(raw, &b) }); err != nil {
				return fmt.Errorf("decode %s: %w", it.Item().Key(), err)
			}
			for _, e := range backupIndexEntries(b) {
				if !strings.HasPrefix(e.key, ixBackupSt) && !strings.HasPrefix(e.key, ixBackupTy) {
					continue // the other indexes exist since schema 1
				}
				if err := wb.Set([]byte(e.key), []byte(e.val)); err != nil {
					return fmt.Errorf("index backup %s: %w", b.ID, err)
				}
			}
		}
		return nil
	})
}

// inBatches calls fill with a read transaction and a write batch, and
// flushes the batch when fill succeeds.
func inBatches(db *badger.DB, fill func(*badger.Txn, *badger.WriteBatch) error) error {
	wb := db.NewWriteBatch()
	defer wb.Cancel()
	if err := db.View(func(txn *badger.Txn) error { return fill(txn, wb) }); err != nil {
		return err
	}
	return wb.Flush()
}

// eachKey calls fn with a copy of every key under prefix.
func eachKey(txn *badger.Txn, prefix string, fn func(k []byte) error) error {
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Prefix: []byte(prefix)})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if err := fn(it.Item().KeyCopy(nil)); err != nil {
			return err
		}
	}
	return nil
}
