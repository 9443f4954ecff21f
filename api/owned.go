package api

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/jagad/jagad/state"
)

// owned describes a named kind that the API and jagad.yaml both write
// (connections, storage providers, notifications), for the write handlers
// they share: the same ownership rule (409 on file-managed records), the
// same unique-name rule and the same "still used by a schedule" rule.
type owned[R state.Record] struct {
	word string
	meta func(*R) *state.Meta
	name func(R) string
	uses func(state.Schedule, R) bool // a schedule refers to the record
}

var (
	connections = owned[state.Connection]{
		word: wordConnection,
		meta: func(c *state.Connection) *state.Meta { return &c.Meta },
		name: func(c state.Connection) string { return c.Name },
		uses: func(sc state.Schedule, c state.Connection) bool { return sc.ConnectionID == c.ID },
	}
	providers = owned[state.Provider]{
		word: wordProvider,
		meta: func(p *state.Provider) *state.Meta { return &p.Meta },
		name: func(p state.Provider) string { return p.Name },
		uses: func(sc state.Schedule, p state.Provider) bool {
			return sc.StorageProviderID == p.ID || slices.ContainsFunc(sc.CopiesTo, func(c state.CopyTarget) bool { return c.StorageProviderID == p.ID })
		},
	}
	notifications = owned[state.Notification]{
		word: wordNotification,
		meta: func(n *state.Notification) *state.Meta { return &n.Meta },
		name: func(n state.Notification) string { return n.Name },
		uses: func(sc state.Schedule, n state.Notification) bool { return slices.Contains(sc.NotifTargetIDs, n.ID) },
	}
)

func (o owned[R]) key(r R) (string, state.ManagedBy) { return o.name(r), o.meta(&r).ManagedBy }

// create stores rec, a new API-made record whose name must be free; prepare
// (may be nil) runs first in the same transaction.
func (o owned[R]) create(s *server, rec *R, prepare func(*state.Tx, *R) error) error {
	return s.store.Update(func(tx *state.Tx) error {
		if err := uniqueName(tx, (*rec).RecordID(), o.name(*rec), o.word, o.key); err != nil {
			return err
		}
		if prepare != nil {
			if err := prepare(tx, rec); err != nil {
				return err
			}
		}
		return state.Put(tx, *rec)
	})
}

// update changes the API-made record id with change (which also validates)
// and stores it, its name still unique and UpdatedAt set.
func (o owned[R]) update(s *server, id string, change func(*state.Tx, *R) error) (R, error) {
	var rec R
	err := s.store.Update(func(tx *state.Tx) (err error) {
		if rec, err = getRec[R](tx, id, o.word); err != nil {
			return err
		}
		if err := checkOwned(*o.meta(&rec), o.word, o.name(rec)); err != nil {
			return err
		}
		if err := change(tx, &rec); err != nil {
			return err
		}
		if err := uniqueName(tx, rec.RecordID(), o.name(rec), o.word, o.key); err != nil {
			return err
		}
		o.meta(&rec).UpdatedAt = s.now().UTC()
		return state.Put(tx, rec)
	})
	return rec, err
}

// remove deletes the API-made record id unless a schedule uses it (409);
// cleanup (may be nil) removes what goes with it, in the same transaction.
func (o owned[R]) remove(s *server, id string, cleanup func(*state.Tx, R) error) error {
	return s.store.Update(func(tx *state.Tx) error {
		rec, err := getRec[R](tx, id, o.word)
		if err != nil {
			return err
		}
		if err := checkOwned(*o.meta(&rec), o.word, o.name(rec)); err != nil {
			return err
		}
		if err := notUsedBySchedule(tx, o.word, o.name(rec), func(sc state.Schedule) bool { return o.uses(sc, rec) }); err != nil {
			return err
		}
		if cleanup != nil {
			if err := cleanup(tx, rec); err != nil {
				return err
			}
		}
		return state.Delete[R](tx, rec.RecordID())
	})
}

// get reads the record id (404 when missing).
func (o owned[R]) get(s *server, id string) (R, error) {
	var rec R
	err := s.store.View(func(tx *state.Tx) (err error) {
		rec, err = getRec[R](tx, id, o.word)
		return err
	})
	return rec, err
}

// listViews lists the records of o's kind, sorted by name (then ID), as
// views, windowed by the request's limit and offset (see page.go); only the
// window's records are read (state.Page).
func listViews[R state.Record, V any](s *server, r *http.Request, o owned[R], view func(R) V) (any, error) {
	p, err := pageOf(r)
	if err != nil {
		return nil, err
	}
	var (
		win   []R
		total int
	)
	err = s.store.View(func(tx *state.Tx) (err error) {
		win, total, err = state.Page[R](tx, p.offset, p.limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list %ss: %w", o.word, err)
	}
	return pagedViews(win, total, view), nil
}
