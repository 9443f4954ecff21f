package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// recordKey is the Badger key of a record: "<kind>/<id>".
func recordKey(k Kind, id string) string { return string(k) + "/" + id }

// kindOf returns T's kind. T must be a value type (Connection, not *Connection).
func kindOf[T Record]() (Kind, error) {
	if reflect.TypeFor[T]().Kind() == reflect.Pointer {
		return "", fmt.Errorf("state: record type %v must not be a pointer", reflect.TypeFor[T]())
	}
	var zero T
	return zero.Kind(), nil
}

// Get reads one record by ID; ErrNotFound when missing.
func Get[T Record](tx *Tx, id string) (T, error) {
	var zero, rec T
	if err := tx.check(false); err != nil {
		return zero, err
	}
	k, err := kindOf[T]()
	if err != nil {
		return zero, err
	}
	if err := tx.getValue(recordKey(k, id), &rec); err != nil {
		return zero, err
	}
	return rec, nil
}

// List returns every record of T's kind (backups: prefer ListBackups),
// sorted by CreatedAt, then ID.
func List[T Record](tx *Tx) ([]T, error) {
	if err := tx.check(false); err != nil {
		return nil, err
	}
	k, err := kindOf[T]()
	if err != nil {
		return nil, err
	}
	var out []T
	err = tx.scan(string(k)+"/", func(key string, val []byte) error {
		var rec T
		if err := tx.decode(key, val, &rec); err != nil {
			return err
		}
		out = append(out, rec)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortByCreated(out)
	return out, nil
}

// Put creates or replaces a record, sealing its Secret fields with the record key as AAD.
func Put[T Record](tx *Tx, rec T) error {
	if err := tx.check(true); err != nil {
		return err
	}
	k, err := kindOf[T]()
	if err != nil {
		return err
	}
	id := rec.RecordID()
	if err := checkID("put "+string(k), id); err != nil {
		return err
	}
	op := ChangeUpdated
	if ok, err := tx.exists(recordKey(k, id)); err != nil {
		return err
	} else if !ok {
		op = ChangeCreated
	}
	if b, ok := any(rec).(Backup); ok {
		if err := tx.indexBackup(b); err != nil {
			return err
		}
	}
	if listed(k) {
		if err := tx.indexListed(k, rec); err != nil {
			return err
		}
		for _, o := range extraOrders(k) {
			if err := tx.indexListed(o, rec); err != nil {
				return err
			}
		}
	}
	if err := tx.putValue(recordKey(k, id), rec, nil); err != nil {
		return err
	}
	tx.changed(k, id, op)
	return nil
}

// Delete removes a record; ErrNotFound when missing.
func Delete[T Record](tx *Tx, id string) error {
	if err := tx.check(true); err != nil {
		return err
	}
	k, err := kindOf[T]()
	if err != nil {
		return err
	}
	key := recordKey(k, id)
	if k == KindBackup {
		if err := tx.unindexBackup(id); err != nil {
			return err
		}
	} else if _, err := tx.getRaw(key); err != nil {
		return err
	}
	if listed(k) {
		if err := tx.unindexListed(k, id, ""); err != nil {
			return err
		}
		for _, o := range extraOrders(k) {
			if err := tx.unindexListed(o, id, ""); err != nil {
				return err
			}
		}
	}
	if err := tx.txn.Delete([]byte(key)); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	tx.changed(k, id, ChangeDeleted)
	return nil
}

// ListRestores returns every restore, newest first (CreatedAt, then ID descending).
func (tx *Tx) ListRestores() ([]Restore, error) {
	rs, err := List[Restore](tx)
	if err != nil {
		return nil, err
	}
	slices.Reverse(rs)
	return rs, nil
}

// getRaw returns a copy of key's value; an error wrapping ErrNotFound when missing.
func (tx *Tx) getRaw(key string) ([]byte, error) {
	item, err := tx.txn.Get([]byte(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	val, err := item.ValueCopy(nil)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	return val, nil
}

// getValue reads key into ptr, unsealing secrets.
func (tx *Tx) getValue(key string, ptr any) error {
	val, err := tx.getRaw(key)
	if err != nil {
		return err
	}
	return tx.decode(key, val, ptr)
}

// decode unmarshals val into ptr and unseals its secrets with key as AAD.
func (tx *Tx) decode(key string, val []byte, ptr any) error {
	if err := json.Unmarshal(val, ptr); err != nil {
		return fmt.Errorf("decode %s: %w", key, err)
	}
	if err := tx.s.seal.unsealFields(key, ptr); err != nil {
		return fmt.Errorf("decode %s: %w", key, err)
	}
	return nil
}

// putValue seals v's secrets with key as AAD, marshals it and stores it;
// entry, when not nil, adjusts the Badger entry (TTL).
func (tx *Tx) putValue(key string, v any, entry func(*badger.Entry)) error {
	sealed, err := tx.s.seal.sealFields(key, v)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	val, err := json.Marshal(sealed)
	if err != nil {
		return fmt.Errorf("put %s: encode: %w", key, err)
	}
	e := badger.NewEntry([]byte(key), val)
	if entry != nil {
		entry(e)
	}
	if err := tx.txn.SetEntry(e); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// scan calls fn for every key with prefix, in key order, with its value.
func (tx *Tx) scan(prefix string, fn func(key string, val []byte) error) error {
	it := tx.txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 100, Prefix: []byte(prefix)})
	defer it.Close()
	for it.Rewind(); it.ValidForPrefix([]byte(prefix)); it.Next() {
		item := it.Item()
		key := string(item.Key())
		err := item.Value(func(val []byte) error { return fn(key, bytes.Clone(val)) })
		if err != nil {
			return fmt.Errorf("scan %s: %w", strings.TrimSuffix(prefix, "/"), err)
		}
	}
	return nil
}

// scanKeys returns every key with prefix without reading values.
func (tx *Tx) scanKeys(prefix string) []string {
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefix)})
	defer it.Close()
	var keys []string
	for it.Rewind(); it.ValidForPrefix([]byte(prefix)); it.Next() {
		keys = append(keys, string(it.Item().Key()))
	}
	return keys
}

// sortByCreated sorts records by their CreatedAt field, then by ID.
func sortByCreated[T Record](recs []T) {
	type keyed struct {
		at  time.Time
		rec T
	}
	ks := make([]keyed, len(recs))
	for i, r := range recs {
		ks[i] = keyed{at: createdAt(r), rec: r}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.rec.RecordID(), b.rec.RecordID())
	})
	for i := range ks {
		recs[i] = ks[i].rec
	}
}

var timeType = reflect.TypeFor[time.Time]()

// createdAt returns rec's CreatedAt field (promoted fields included), or the
// zero time when it has none.
func createdAt(rec any) time.Time {
	f := reflect.ValueOf(rec).FieldByName("CreatedAt")
	if !f.IsValid() || f.Type() != timeType {
		return time.Time{}
	}
	return f.Interface().(time.Time)
}
