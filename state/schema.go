package state

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/dgraph-io/badger/v4"
)

// Keys of the store's own bookkeeping.
const (
	keySchema   = "meta/schema"
	keyKeyCheck = "meta/keycheck"
)

// keyCheckPlain is sealed under the master key on first open; a later open
// with another key fails to unseal it and refuses to start.
const keyCheckPlain = "jagad master key check"

// migration upgrades the data of schema version N to N+1, inside one
// transaction. migrations[i] upgrades version i+1 to i+2.
type migration func(txn *badger.Txn) error

// defaultMigrations is the list of schema migrations; the current schema
// version is len(defaultMigrations())+1.
func defaultMigrations() []migration {
	return []migration{
		migrateStoredByProvider,  // 1 → 2
		migrateStatusTypeIndexes, // 2 → 3
	}
}

// prepare checks the master key and brings the schema up to date.
// Below the free-space floor it runs read-only: a data dir that needs no
// write (neither new nor due a migration) opens, one that does is refused.
func (s *Store) prepare(migrations []migration) error {
	fn := func(txn *badger.Txn) error {
		if err := s.checkMasterKey(txn); err != nil {
			return err
		}
		return migrate(txn, migrations)
	}
	if s.space.isLow() {
		err := s.db.View(fn)
		if !errors.Is(err, badger.ErrReadOnlyTxn) {
			return err
		}
		if err := s.space.admit(); err != nil {
			return err
		}
	}
	return s.db.Update(fn)
}

// migrate runs the migrations from the stored version to the current one
// and stores the new version. A fresh store is written at the current version.
func migrate(txn *badger.Txn, migrations []migration) error {
	current := len(migrations) + 1
	stored, err := schemaVersion(txn)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return putSchema(txn, current)
	}
	if err != nil {
		return err
	}
	if stored > current {
		return fmt.Errorf("data dir has schema version %d, this jagad supports up to %d: upgrade jagad", stored, current)
	}
	for v := stored; v < current; v++ {
		if err := migrations[v-1](txn); err != nil {
			return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
		}
	}
	if stored == current {
		return nil
	}
	return putSchema(txn, current)
}

func schemaVersion(txn *badger.Txn) (int, error) {
	item, err := txn.Get([]byte(keySchema))
	if err != nil {
		return 0, err
	}
	raw, err := item.ValueCopy(nil)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	v, err := strconv.Atoi(string(raw))
	if err != nil || v < 1 {
		return 0, fmt.Errorf("invalid schema version %q", raw)
	}
	return v, nil
}

func putSchema(txn *badger.Txn, v int) error {
	if err := txn.Set([]byte(keySchema), []byte(strconv.Itoa(v))); err != nil {
		return fmt.Errorf("write schema version: %w", err)
	}
	return nil
}

// checkMasterKey verifies the key against the sealed check value, writing it
// on first use.
func (s *Store) checkMasterKey(txn *badger.Txn) error {
	item, err := txn.Get([]byte(keyKeyCheck))
	if errors.Is(err, badger.ErrKeyNotFound) {
		sealed, err := s.seal.seal(keyKeyCheck, keyCheckPlain)
		if err != nil {
			return err
		}
		return txn.Set([]byte(keyKeyCheck), []byte(sealed))
	}
	if err != nil {
		return fmt.Errorf("read master key check: %w", err)
	}
	raw, err := item.ValueCopy(nil)
	if err != nil {
		return fmt.Errorf("read master key check: %w", err)
	}
	plain, err := s.seal.unseal(keyKeyCheck, string(raw))
	if err != nil || plain != keyCheckPlain {
		return fmt.Errorf("the master key does not match the one this data dir was created with: %w", ErrUnseal)
	}
	return nil
}
