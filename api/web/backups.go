package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/state"
)

const backupsPerPage = 50

// backupFilter is the backups page's query.
type backupFilter struct {
	Connection, Database, Schedule, Status, Type string
	Page                                         int
}

func filterOf(r *http.Request) backupFilter {
	q := r.URL.Query()
	f := backupFilter{Connection: q.Get("connection"), Database: q.Get("database"), Schedule: q.Get("schedule"),
		Status: q.Get("status"), Type: q.Get("type")}
	f.Page, _ = strconv.Atoi(q.Get("page"))
	if f.Page < 1 {
		f.Page = 1
	}
	return f
}

// query renders the filter as a query string for page n.
func (f backupFilter) query(n int) string {
	v := url.Values{}
	for k, s := range map[string]string{"connection": f.Connection, "database": f.Database,
		"schedule": f.Schedule, "status": f.Status, "type": f.Type} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if n > 1 {
		v.Set("page", strconv.Itoa(n))
	}
	if len(v) == 0 {
		return "/backups"
	}
	return "/backups?" + v.Encode()
}

type option struct{ Value, Label string }

type backupsData struct {
	Filter                 backupFilter
	Backups                []state.Backup
	Connections, Databases []option
	Schedules              []option
	Statuses, Types        []string
	Prev, Next             string
	Total                  int64 // of the filter, every page
	First, Last            int
	Filtered               bool
}

// listBackups reads the filter's page through the store's indexes (by
// status, type, schedule, database or connection), newest first.
func listBackups(tx *state.Tx, f backupFilter) (out []state.Backup, more bool, err error) {
	q := f.storeQuery()
	q.Limit, q.Offset = backupsPerPage+1, (f.Page-1)*backupsPerPage
	bs, err := tx.ListBackups(q)
	if err != nil {
		return nil, false, err
	}
	if len(bs) > backupsPerPage {
		return bs[:backupsPerPage], true, nil
	}
	return bs, false, nil
}

// storeQuery is the store query of the filter, without a page.
func (f backupFilter) storeQuery() state.BackupQuery {
	return state.BackupQuery{ConnectionID: f.Connection, DatabaseID: f.Database, ScheduleID: f.Schedule,
		Status: f.Status, BackupType: f.Type}
}

func (u *ui) backups(_ http.ResponseWriter, r *http.Request) (page, error) {
	f := filterOf(r)
	d := backupsData{Filter: f,
		Statuses: []string{state.StatusQueued, state.StatusRunning, state.StatusSuccess, state.StatusFailed},
		Types:    []string{"full", "incremental"}}
	var more bool
	err := u.d.Store.View(func(tx *state.Tx) error {
		n, err := loadNames(tx)
		if err != nil {
			return err
		}
		for _, c := range n.conns {
			d.Connections = append(d.Connections, option{c.ID, c.Name})
		}
		for _, db := range n.dbs {
			d.Databases = append(d.Databases, option{db.ID, n.conns[db.ConnectionID].Name + " / " + db.DBName})
		}
		ss, err := state.List[state.Schedule](tx)
		if err != nil {
			return err
		}
		for _, s := range ss {
			d.Schedules = append(d.Schedules, option{s.ID, s.Name})
		}
		if d.Backups, more, err = listBackups(tx, f); err != nil {
			return err
		}
		d.Filtered = f != backupFilter{Page: f.Page}
		d.Total, err = tx.CountBackups(f.storeQuery())
		return err
	})
	if err != nil {
		return page{}, err
	}
	for _, o := range [][]option{d.Connections, d.Databases, d.Schedules} {
		slices.SortFunc(o, func(a, b option) int { return strings.Compare(a.Label, b.Label) })
	}
	if f.Page > 1 {
		d.Prev = f.query(f.Page - 1)
	}
	if more {
		d.Next = f.query(f.Page + 1)
	}
	d.First = (f.Page-1)*backupsPerPage + 1
	d.Last = d.First + len(d.Backups) - 1
	return page{Template: "backups", Title: "Backups", Nav: "backups", Data: d, Live: true,
		Watch: "backup:shown schedule connection"}, nil
}

func (u *ui) backup(_ http.ResponseWriter, r *http.Request) (page, error) {
	var d struct {
		B        state.Backup
		Provider string
		// Copies: every copy of the object, the primary first, with its
		// provider's name; CopyTo: the providers a copy can be made to (none,
		// or a failed one, there).
		Copies   []copyRow
		CopyTo   []option
		Restores []state.Restore
		// Jobs: the backup's own progress (running, verifying) and that of
		// its running drills and restores.
		Jobs []engine.Progress
	}
	err := u.d.Store.View(func(tx *state.Tx) error {
		var err error
		if d.B, err = state.Get[state.Backup](tx, r.PathValue("id")); err != nil {
			return err
		}
		if p, err := state.Get[state.Provider](tx, d.B.StorageProviderID); err == nil {
			d.Provider = p.Name
		}
		ps, err := state.List[state.Provider](tx)
		if err != nil {
			return err
		}
		d.Copies, d.CopyTo = copyRows(d.B, ps)
		all, err := state.List[state.Restore](tx)
		for _, x := range all {
			if x.BackupID == d.B.ID {
				d.Restores = append(d.Restores, x)
			}
		}
		return err
	})
	if errors.Is(err, state.ErrNotFound) {
		return page{}, notFoundf("No backup with this ID. It may have been deleted by retention.")
	}
	if err != nil {
		return page{}, err
	}
	slices.SortFunc(d.Restores, func(a, b state.Restore) int { return b.CreatedAt.Compare(a.CreatedAt) })
	ids := map[string]bool{d.B.ID: true}
	for _, x := range d.Restores {
		ids[x.ID] = x.Status == state.StatusRunning
	}
	for _, p := range u.running() {
		if ids[p.ID] {
			d.Jobs = append(d.Jobs, p)
		}
	}
	return page{Template: "backup", Title: fmt.Sprintf("Backup %s", d.B.ID), Nav: "backups", Data: d, Live: true,
		Watch: "backup:" + d.B.ID + " restore provider"}, nil
}

// copyRow is one copy of a backup as its page lists it.
type copyRow struct {
	state.Replica
	Name string // the provider's name now, else when the copy was made, else its ID
}

// copyRows lists b's copies (exactly those recorded: the page never shows
// more copies than exist) and the providers a copy can still be made to:
// those without a copy, or with a failed one, when b succeeded and has a
// stored copy to copy from.
func copyRows(b state.Backup, ps []state.Provider) ([]copyRow, []option) {
	name := map[string]string{}
	for _, p := range ps {
		name[p.ID] = p.Name
	}
	var rows []copyRow
	have := map[string]bool{}
	healthy := false
	for _, r := range b.Copies() {
		row := copyRow{Replica: r, Name: name[r.ProviderID]}
		if row.Name == "" {
			row.Name = r.ProviderName
		}
		if row.Name == "" {
			row.Name = r.ProviderID
		}
		rows = append(rows, row)
		have[r.ProviderID] = r.Status != state.ReplicaFailed
		healthy = healthy || r.Status == state.ReplicaSuccess
	}
	var to []option
	if b.Status != state.StatusSuccess || !healthy {
		return rows, nil
	}
	for _, p := range ps {
		if !have[p.ID] {
			to = append(to, option{p.ID, p.Name})
		}
	}
	slices.SortFunc(to, func(a, b option) int { return strings.Compare(a.Label, b.Label) })
	return rows, to
}

// copiesN is how many copies of a backup are stored, of how many.
type copiesN struct{ Stored, Total int }

// copiesCount counts the copies of a backup with more than one; nil for a
// backup with one (or none): the list shows no count then.
func copiesCount(b state.Backup) *copiesN {
	all := b.Copies()
	if len(all) < 2 {
		return nil
	}
	n := &copiesN{Total: len(all)}
	for _, r := range all {
		if r.Status == state.ReplicaSuccess {
			n.Stored++
		}
	}
	return n
}
