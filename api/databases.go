package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

type databaseView struct {
	ID           string          `json:"id"`
	ConnectionID string          `json:"connection_id"`
	DBName       string          `json:"db_name"`
	IsSelected   bool            `json:"is_selected"`
	SizeBytes    int64           `json:"size_bytes"`
	ManagedBy    state.ManagedBy `json:"managed_by"`
	CreatedAt    time.Time       `json:"created_at"`
}

func viewDatabase(d state.Database) databaseView {
	return databaseView{ID: d.ID, ConnectionID: d.ConnectionID, DBName: d.DBName, IsSelected: d.IsSelected,
		SizeBytes: d.SizeBytes, ManagedBy: d.ManagedBy, CreatedAt: d.CreatedAt}
}

// connectionDatabases lists a connection's databases by name.
func connectionDatabases(tx *state.Tx, connID string) ([]state.Database, error) {
	all, err := state.List[state.Database](tx)
	if err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	all = slices.DeleteFunc(all, func(d state.Database) bool { return d.ConnectionID != connID })
	slices.SortFunc(all, func(a, b state.Database) int { return strings.Compare(a.DBName, b.DBName) })
	return all, nil
}

func viewDatabases(dbs []state.Database) []databaseView {
	out := make([]databaseView, 0, len(dbs))
	for _, d := range dbs {
		out = append(out, viewDatabase(d))
	}
	return out
}

func (s *server) listDatabases(r *http.Request, p httprouter.Params) (any, error) {
	pg, err := pageOf(r)
	if err != nil {
		return nil, err
	}
	var (
		dbs   []state.Database
		total int
	)
	err = s.store.View(func(tx *state.Tx) error {
		c, err := getRec[state.Connection](tx, p.ByName("id"), wordConnection)
		if err != nil {
			return err
		}
		dbs, total, err = state.DatabasePage(tx, c.ID, pg.offset, pg.limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	return pagedViews(dbs, total, viewDatabase), nil
}

// discoverDatabases lists the databases on the server and upserts a record
// for each: new ones selected, sizes refreshed. IDs derive from connection ID
// and name, so file-made and discovered records agree. Databases that
// vanished from the server are kept (their backups still refer to them).
func (s *server) discoverDatabases(r *http.Request, p httprouter.Params) (any, error) {
	var c state.Connection
	err := s.store.View(func(tx *state.Tx) (err error) {
		c, err = getRec[state.Connection](tx, p.ByName("id"), wordConnection)
		return err
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), dbTimeout)
	defer cancel()
	found, err := s.db.ListDatabases(ctx, targetOf(c.ConnectionSpec))
	if err != nil {
		return nil, fault.Upstream(fmt.Sprintf("discover databases on connection %q: %s",
			c.Name, scrub(err.Error(), c.Password.Reveal())))
	}
	var dbs []state.Database
	now := s.now().UTC()
	err = s.store.Update(func(tx *state.Tx) error {
		for _, f := range found {
			id := state.DerivedID(state.KindDatabase, c.ID+"/"+f.Name)
			d, err := state.Get[state.Database](tx, id)
			switch {
			case err == nil:
				d.SizeBytes = f.SizeBytes
			case errors.Is(err, state.ErrNotFound):
				d = state.Database{ID: id, ConnectionID: c.ID, DBName: f.Name, IsSelected: true,
					SizeBytes: f.SizeBytes, ManagedBy: state.ManagedByAPI, CreatedAt: now}
			default:
				return fmt.Errorf("read database %s: %w", id, err)
			}
			if err := state.Put(tx, d); err != nil {
				return fmt.Errorf("store database %s: %w", id, err)
			}
		}
		var err error
		dbs, err = connectionDatabases(tx, c.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return viewDatabases(dbs), nil
}

type databaseInput struct {
	IsSelected *bool `json:"is_selected"`
}

// updateDatabase is PUT /api/connections/databases/{id}; httprouter reaches
// it as PUT /api/connections/:id/:dbid with :id == "databases".
func (s *server) updateDatabase(r *http.Request, p httprouter.Params) (any, error) {
	if p.ByName("id") != "databases" {
		return nil, fault.NotFound("not found")
	}
	var in databaseInput
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	if in.IsSelected == nil {
		return nil, missing("is_selected")
	}
	err := s.store.Update(func(tx *state.Tx) error {
		d, err := getRec[state.Database](tx, p.ByName("dbid"), wordDatabase)
		if err != nil {
			return err
		}
		if d.ManagedBy == state.ManagedByFile {
			return managedErr(wordDatabase, d.DBName)
		}
		d.IsSelected = *in.IsSelected
		return state.Put(tx, d)
	})
	if err != nil {
		return nil, err
	}
	return noContent, nil
}
