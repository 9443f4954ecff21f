package state

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// List-order indexes: the order the API lists a kind in, as keys, so a page
// of a list decodes only its own records and a count decodes none.
//
//	ix/list/<kind>/[<scope>/]<sort key>\x00<id>  (empty value)
//	ix/listof/<kind>/<id>                        → that index key
//
// The sort key is the name for connections, providers, notifications and
// schedules (ties by ID), the database name within its connection (the
// scope) for databases, and newest first (invertedNanos of CreatedAt, ties
// by ID) for restores. The back pointer lets Put and Delete find the entry
// of the stored version without decoding it. Key order is byte order, the
// order of strings.Compare; a name never holds "\x00" (config.CheckName),
// so "a" sorts before "a b" as it does by name.
const (
	ixList   = "ix/list/"
	ixListOf = "ix/listof/"
)

// listFields are the fields of a record its list order reads. They are not
// secrets, so the schema migration decodes them without unsealing.
type listFields struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	DBName       string    `json:"db_name"`
	ConnectionID string    `json:"connection_id"`
	CreatedAt    time.Time `json:"created_at"`
}

// listedKinds are the kinds with a list-order index.
var listedKinds = []Kind{KindConnection, KindProvider, KindNotification, KindSchedule, KindDatabase, KindRestore}

// orderSchedulesByConnection is a second list order of schedules: by name
// within their connection (GET /api/schedules?connection_id=), so a filtered
// page reads only its own schedules. It is an index name, not a record kind:
//
//	ix/list/schedule@connection/<connection id>/<name>\x00<id>
//	ix/listof/schedule@connection/<id>
const orderSchedulesByConnection Kind = "schedule@connection"

// extraOrders are the list orders of kind k besides its own.
func extraOrders(k Kind) []Kind {
	if k == KindSchedule {
		return []Kind{orderSchedulesByConnection}
	}
	return nil
}

func listed(k Kind) bool {
	for _, l := range listedKinds {
		if l == k {
			return true
		}
	}
	return false
}

// listScope is the part of a kind's list-order prefix that narrows it:
// databases are listed per connection.
func listScope(k Kind, f listFields) string {
	if k == KindDatabase || k == orderSchedulesByConnection {
		return f.ConnectionID
	}
	return ""
}

// listPrefix is the prefix of the list-order index of kind k within scope.
func listPrefix(k Kind, scope string) string {
	p := ixList + string(k) + "/"
	if scope != "" {
		p += scope + "/"
	}
	return p
}

// listKey is the list-order index key of a record of kind k.
func listKey(k Kind, f listFields) string {
	var sortKey string
	switch k {
	case KindDatabase:
		sortKey = f.DBName
	case KindRestore:
		sortKey = invertedNanos(f.CreatedAt)
	default:
		sortKey = f.Name
	}
	return listPrefix(k, listScope(k, f)) + sortKey + "\x00" + f.ID
}

// listFieldsOf returns rec's list fields.
func listFieldsOf(rec any) listFields {
	switch r := rec.(type) {
	case Connection:
		return listFields{ID: r.ID, Name: r.Name}
	case Provider:
		return listFields{ID: r.ID, Name: r.Name}
	case Notification:
		return listFields{ID: r.ID, Name: r.Name}
	case Schedule:
		return listFields{ID: r.ID, Name: r.Name, ConnectionID: r.ConnectionID}
	case Database:
		return listFields{ID: r.ID, DBName: r.DBName, ConnectionID: r.ConnectionID}
	case Restore:
		return listFields{ID: r.ID, CreatedAt: r.CreatedAt}
	}
	return listFields{}
}

// indexListed points the list-order index of kind k at rec, replacing the
// entry of the stored version when its sort key changed.
func (tx *Tx) indexListed(k Kind, rec any) error {
	f := listFieldsOf(rec)
	key := listKey(k, f)
	if err := tx.unindexListed(k, f.ID, key); err != nil {
		return err
	}
	if err := tx.txn.Set([]byte(key), nil); err != nil {
		return fmt.Errorf("index %s %s: %w", k, f.ID, err)
	}
	if err := tx.txn.Set([]byte(ixListOf+string(k)+"/"+f.ID), []byte(key)); err != nil {
		return fmt.Errorf("index %s %s: %w", k, f.ID, err)
	}
	return nil
}

// unindexListed deletes the list-order entry of the stored record id of
// kind k unless it is keep, and (keep empty) its back pointer.
func (tx *Tx) unindexListed(k Kind, id, keep string) error {
	back := ixListOf + string(k) + "/" + id
	old, err := tx.getRaw(back)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if string(old) == keep {
		return nil
	}
	if err := tx.txn.Delete(old); err != nil {
		return fmt.Errorf("unindex %s %s: %w", k, id, err)
	}
	if keep == "" {
		if err := tx.txn.Delete([]byte(back)); err != nil {
			return fmt.Errorf("unindex %s %s: %w", k, id, err)
		}
	}
	return nil
}

// Page returns the records of T's kind from offset, at most limit of them,
// in the order the API lists them (see ixList), and how many there are in
// all. Only the page's records are read and decoded. T must be a listed
// kind other than Database (see DatabasePage).
func Page[T Record](tx *Tx, offset, limit int) ([]T, int, error) {
	k, err := kindOf[T]()
	if err != nil {
		return nil, 0, err
	}
	if k == KindDatabase {
		return nil, 0, errors.New("state: databases are paged per connection (DatabasePage)")
	}
	return pageOf[T](tx, k, k, "", offset, limit)
}

// DatabasePage is Page for the databases of connection connID, by name.
func DatabasePage(tx *Tx, connID string, offset, limit int) ([]Database, int, error) {
	if err := checkID("page databases", connID); err != nil {
		return nil, 0, err
	}
	return pageOf[Database](tx, KindDatabase, KindDatabase, connID, offset, limit)
}

// SchedulePage is Page for the schedules of connection connID, by name
// (ties by ID): the order of Page[Schedule] with the others left out. An
// ID no record can have (empty, or holding "/" or NUL) has no schedules.
func SchedulePage(tx *Tx, connID string, offset, limit int) ([]Schedule, int, error) {
	if checkID("page schedules", connID) != nil {
		return nil, 0, tx.check(false)
	}
	return pageOf[Schedule](tx, KindSchedule, orderSchedulesByConnection, connID, offset, limit)
}

// Count returns the number of records of T's kind (not databases) without
// reading any.
func Count[T Record](tx *Tx) (int, error) {
	_, n, err := Page[T](tx, 0, 0)
	return n, err
}

// pageOf pages the list order order (k's own, or one of extraOrders(k))
// within scope and reads the records of kind k it names.
func pageOf[T Record](tx *Tx, k, order Kind, scope string, offset, limit int) ([]T, int, error) {
	if err := tx.check(false); err != nil {
		return nil, 0, err
	}
	if !listed(k) || (order != k && !slices.Contains(extraOrders(k), order)) {
		return nil, 0, fmt.Errorf("state: %s has no list order", k)
	}
	if offset < 0 || limit < 0 {
		return nil, 0, fmt.Errorf("state: page of %s: negative offset or limit", k)
	}
	prefix := []byte(listPrefix(order, scope))
	it := tx.txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Prefix: prefix})
	defer it.Close()
	var out []T
	total := 0
	for it.Rewind(); it.ValidForPrefix(prefix); it.Next() {
		if total >= offset && total-offset < limit {
			key := it.Item().Key()
			rest := string(key[len(prefix):])
			cut := strings.LastIndexByte(rest, 0) // IDs hold no NUL (checkID)
			id := rest[cut+1:]
			if cut < 0 || id == "" || strings.Contains(id, "/") {
				return nil, 0, fmt.Errorf("state: malformed list index key %q", key)
			}
			var rec T
			if err := tx.getValue(recordKey(k, id), &rec); err != nil {
				return nil, 0, fmt.Errorf("page %s: %w", k, err)
			}
			out = append(out, rec)
		}
		total++
	}
	return out, total, nil
}
