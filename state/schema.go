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

// migration upgrades the data of schema version N to N+1.
// migrations[i] upgrades version i+1 to i+2.
type migration struct {
	// txn runs inside the one transaction that also writes the new
	// version, after the txn of the earlier migrations (nil: nothing).
	txn func(txn *badger.Txn) error
	// bulk, when set, runs before that transaction in batches of its own,
	// for rewrites too big for one transaction (Badger caps a transaction
	// at 15% of a memtable). It must be idempotent: a crash before the new
	// version is written runs it again. It runs before the txn of every
	// migration of the same open, so it may only read data they leave alone.
	bulk func(db *badger.DB) error
}

// defaultMigrations is the list of schema migrations; the current schema
// version is len(defaultMigrations())+1.
func defaultMigrations() []migration {
	return []migration{
		{txn: migrateStoredByProvider}, // 1 → 2
		{bulk: buildStatusTypeIndexes}, // 2 → 3
		{bulk: buildListIndexes},       // 3 → 4
		{bulk: buildListIndexes},       // 4 → 5: again, for the schedules-by-connection order
		{bulk: buildScheduleRunIndex},  // 5 → 6: last run and status in the index by schedule
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
	if err := s.db.View(s.checkMasterKey); err != nil && !errors.Is(err, badger.ErrReadOnlyTxn) {
		return err // ErrReadOnlyTxn: a fresh store, whose check is written below
	}
	if err := runBulk(s.db, migrations); err != nil {
		return err
	}
	return s.db.Update(fn)
}

// runBulk runs the bulk steps of the migrations due on the stored version.
// A fresh store (no version) is written at the current one and needs none.
func runBulk(db *badger.DB, migrations []migration) error {
	var stored int
	err := db.View(func(txn *badger.Txn) (err error) { stored, err = schemaVersion(txn); return err })
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for v := stored; v <= len(migrations); v++ {
		if m := migrations[v-1]; m.bulk != nil {
			if err := m.bulk(db); err != nil {
				return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
			}
		}
	}
	return nil
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
		if migrations[v-1].txn == nil {
			continue
		}
		if err := migrations[v-1].txn(txn); err != nil {
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
