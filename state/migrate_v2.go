package state

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// migrateStoredByProvider (schema 1 → 2) fills the backup aggregate's stored
// bytes per provider from the backup records. The fields it reads are not
// secrets, so the records are decoded without unsealing.
func migrateStoredByProvider(txn *badger.Txn) error {
	agg := backupAgg{}
	item, err := txn.Get([]byte(keyBackupStats))
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
	case err != nil:
		return err
	default:
		raw, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &agg); err != nil {
			return fmt.Errorf("decode %s: %w", keyBackupStats, err)
		}
	}
	agg.StoredByProvider = map[string]int64{}
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(string(KindBackup) + "/")})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		var b struct {
			Status            string `json:"status"`
			StorageProviderID string `json:"storage_provider_id"`
			StoredSizeBytes   int64  `json:"stored_size_bytes"`
		}
		raw, err := it.Item().ValueCopy(nil)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			return fmt.Errorf("decode %s: %w", it.Item().Key(), err)
		}
		if b.Status == StatusSuccess {
			bump(agg.StoredByProvider, b.StorageProviderID, b.StoredSizeBytes)
		}
	}
	raw, err := json.Marshal(agg)
	if err != nil {
		return err
	}
	return txn.Set([]byte(keyBackupStats), raw)
}
