package state

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// migrateStatusTypeIndexes (schema 2 → 3) builds the backup indexes by
// status and by type from the backup records. The fields it reads are not
// secrets, so the records are decoded without unsealing. Entries already
// under those prefixes are removed first, so that a data dir written by a
// jagad that did not maintain them gets exactly one entry per backup.
func migrateStatusTypeIndexes(txn *badger.Txn) error {
	for _, prefix := range []string{ixBackupSt, ixBackupTy} {
		if err := deletePrefix(txn, prefix); err != nil {
			return err
		}
	}
	var backups []backupIndexFields
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(string(KindBackup) + "/")})
	for it.Rewind(); it.Valid(); it.Next() {
		var b backupIndexFields
		if err := it.Item().Value(func(raw []byte) error { return json.Unmarshal(raw, &b) }); err != nil {
			it.Close()
			return fmt.Errorf("decode %s: %w", it.Item().Key(), err)
		}
		backups = append(backups, b)
	}
	it.Close()
	for _, b := range backups {
		for _, e := range backupIndexEntries(b) {
			if !strings.HasPrefix(e.key, ixBackupSt) && !strings.HasPrefix(e.key, ixBackupTy) {
				continue // the other indexes exist since schema 1
			}
			if err := txn.Set([]byte(e.key), []byte(e.val)); err != nil {
				return fmt.Errorf("index backup %s: %w", b.ID, err)
			}
		}
	}
	return nil
}

// deletePrefix deletes every key under prefix.
func deletePrefix(txn *badger.Txn, prefix string) error {
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Prefix: []byte(prefix)})
	var keys [][]byte
	for it.Rewind(); it.Valid(); it.Next() {
		keys = append(keys, it.Item().KeyCopy(nil))
	}
	it.Close()
	for _, k := range keys {
		if err := txn.Delete(k); err != nil {
			return fmt.Errorf("delete %s: %w", k, err)
		}
	}
	return nil
}
