package state

import (
	"encoding/json"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// buildListIndexes (schema 3 → 4) builds the list-order indexes (listorder.go)
// from the records of the listed kinds, in write batches. Entries from an
// interrupted run are deleted first, so every record ends with exactly its
// own. The fields it reads are not secrets, so the records are decoded
// without unsealing.
func buildListIndexes(db *badger.DB) error {
	err := inBatches(db, func(txn *badger.Txn, wb *badger.WriteBatch) error {
		for _, prefix := range []string{ixList, ixListOf} {
			if err := eachKey(txn, prefix, wb.Delete); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("clear list indexes: %w", err)
	}
	return inBatches(db, func(txn *badger.Txn, wb *badger.WriteBatch) error {
		for _, k := range listedKinds {
			for _, order := range append([]Kind{k}, extraOrders(k)...) {
				if err := indexKind(txn, wb, k, order); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// indexKind writes the entries of list order order for every record of kind k.
func indexKind(txn *badger.Txn, wb *badger.WriteBatch, k, order Kind) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(string(k) + "/")})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		var f listFields
		if err := it.Item().Value(func(raw []byte) error { return json.Unmarshal(raw, &f) }); err != nil {
			return fmt.Errorf("decode %s: %w", it.Item().Key(), err)
		}
		key := listKey(order, f)
		if err := wb.Set([]byte(key), nil); err != nil {
			return fmt.Errorf("index %s %s: %w", k, f.ID, err)
		}
		if err := wb.Set([]byte(ixListOf+string(order)+"/"+f.ID), []byte(key)); err != nil {
			return fmt.Errorf("index %s %s: %w", k, f.ID, err)
		}
	}
	return nil
}
