package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/state"
)

// Connections, storage providers and notification targets: read here,
// tested and changed through the API by the page's script.

type connRow struct {
	state.Connection
	Databases []state.Database
}

func (u *ui) connections(_ http.ResponseWriter, _ *http.Request) (page, error) {
	var rows []connRow
	err := u.d.Store.View(func(tx *state.Tx) error {
		cs, err := state.List[state.Connection](tx)
		if err != nil {
			return err
		}
		ds, err := state.List[state.Database](tx)
		if err != nil {
			return err
		}
		for _, c := range cs {
			r := connRow{Connection: c}
			for _, d := range ds {
				if d.ConnectionID == c.ID {
					r.Databases = append(r.Databases, d)
				}
			}
			slices.SortFunc(r.Databases, func(a, b state.Database) int { return strings.Compare(a.DBName, b.DBName) })
			rows = append(rows, r)
		}
		return nil
	})
	if err != nil {
		return page{}, err
	}
	slices.SortFunc(rows, func(a, b connRow) int { return strings.Compare(a.Name, b.Name) })
	return page{Template: "connections", Title: "Connections", Nav: "connections", Data: rows, Live: true, Watch: "connection"}, nil
}

type providerRow struct {
	state.Provider
	Stored int64
}

func (u *ui) storage(_ http.ResponseWriter, _ *http.Request) (page, error) {
	var rows []providerRow
	err := u.d.Store.View(func(tx *state.Tx) error {
		ps, err := state.List[state.Provider](tx)
		if err != nil {
			return err
		}
		st, err := tx.BackupStats()
		if err != nil {
			return err
		}
		for _, p := range ps {
			rows = append(rows, providerRow{p, st.StoredByProvider[p.ID]})
		}
		return nil
	})
	if err != nil {
		return page{}, err
	}
	slices.SortFunc(rows, func(a, b providerRow) int { return strings.Compare(a.Name, b.Name) })
	return page{Template: "storage", Title: "Storage", Nav: "storage", Data: rows, Live: true, Watch: "provider backup"}, nil
}

func (u *ui) notifications(_ http.ResponseWriter, _ *http.Request) (page, error) {
	var rows []state.Notification
	err := u.d.Store.View(func(tx *state.Tx) (err error) {
		rows, err = state.List[state.Notification](tx)
		return err
	})
	if err != nil {
		return page{}, err
	}
	slices.SortFunc(rows, func(a, b state.Notification) int { return strings.Compare(a.Name, b.Name) })
	return page{Template: "notifications", Title: "Notifications", Nav: "notifications", Data: rows, Live: true, Watch: "notification"}, nil
}

func (u *ui) account(_ http.ResponseWriter, _ *http.Request) (page, error) {
	return page{Template: "account", Title: "Account", Nav: "account"}, nil
}

// settingRow is one setting as the settings page shows it.
type settingRow struct {
	Key, Value string
	File       bool // set by jagad.yaml
	FileOnly   bool // only jagad.yaml may set it (a program the daemon runs)
}

// fileOnlySettings mirrors the API's rule: tool paths come from the file only.
var fileOnlySettings = []string{"pg_dump_path", "pg_restore_path", "mysqldump_path", "mysql_path"}

func (u *ui) settings(_ http.ResponseWriter, _ *http.Request) (page, error) {
	var st state.Settings
	err := u.d.Store.View(func(tx *state.Tx) (err error) {
		st, err = tx.Settings()
		return err
	})
	if err != nil {
		return page{}, err
	}
	var rows []settingRow
	for _, k := range config.SettingKeys() {
		rows = append(rows, settingRow{Key: k, Value: st.Values[k], File: slices.Contains(st.FileKeys, k),
			FileOnly: slices.Contains(fileOnlySettings, k)})
	}
	return page{Template: "settings", Title: "Settings", Nav: "settings", Data: rows, Live: true, Watch: "settings"}, nil
}

// scheduleForm is the data of the create and edit pages of a schedule.
type scheduleForm struct {
	S         state.Schedule // zero ID: a new schedule
	New       bool
	Targets   []option // "connID|dbID" → "conn / db"
	Providers []option
	Target    string
	Retention int
	// Copies: every provider as a copies_to box, checked when the schedule
	// copies to it.
	Copies []copyBox
}

// copyBox is one provider of the schedule form's copies_to. Target is the
// schedule's copy target as JSON when it sets a retention of its own, so a
// save keeps it.
type copyBox struct {
	ID, Name  string
	Checked   bool
	Default   bool // the default provider: the primary of a schedule that names none
	Target    string
	Retention string // its own policy, for the label
}

func copyBoxes(sc state.Schedule, ps []state.Provider) []copyBox {
	out := make([]copyBox, 0, len(ps))
	for _, p := range ps {
		b := copyBox{ID: p.ID, Name: p.Name, Default: p.IsDefault}
		for _, c := range sc.CopiesTo {
			if c.StorageProviderID != p.ID {
				continue
			}
			b.Checked = true
			if c.OwnRetention() {
				j, _ := json.Marshal(c)
				b.Target = string(j)
				b.Retention = retentionLabel(sc.CopyRetention(c))
			}
		}
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b copyBox) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// retentionLabel is a policy in words: "5 full, 12 monthly".
func retentionLabel(p state.RetentionPolicy) string {
	var parts []string
	for _, x := range []struct {
		n    int
		what string
	}{{p.Full, "full"}, {p.Daily, "daily"}, {p.Weekly, "weekly"}, {p.Monthly, "monthly"}, {p.Yearly, "yearly"}} {
		if x.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", x.n, x.what))
		}
	}
	if p.Within > 0 {
		parts = append(parts, "all within "+humanDur(time.Duration(p.Within)))
	}
	return strings.Join(parts, ", ")
}

func (u *ui) scheduleEdit(_ http.ResponseWriter, r *http.Request) (page, error) {
	f := scheduleForm{New: r.PathValue("id") == "", Retention: 7}
	f.S.CronExpr, f.S.BackupType, f.S.Enabled = "0 2 * * *", "full", true
	err := u.d.Store.View(func(tx *state.Tx) error {
		if !f.New {
			s, err := state.Get[state.Schedule](tx, r.PathValue("id"))
			if err != nil {
				return err
			}
			f.S, f.Target, f.Retention = s, s.ConnectionID+"|"+s.DatabaseID, s.RetentionFull
		}
		n, err := loadNames(tx)
		if err != nil {
			return err
		}
		for _, d := range n.dbs {
			f.Targets = append(f.Targets, option{d.ConnectionID + "|" + d.ID, n.conns[d.ConnectionID].Name + " / " + d.DBName})
		}
		ps, err := state.List[state.Provider](tx)
		for _, p := range ps {
			f.Providers = append(f.Providers, option{p.ID, p.Name})
		}
		f.Copies = copyBoxes(f.S, ps)
		return err
	})
	if errors.Is(err, state.ErrNotFound) {
		return page{}, notFoundf("No schedule with this ID.")
	}
	if err != nil {
		return page{}, err
	}
	for _, o := range [][]option{f.Targets, f.Providers} {
		slices.SortFunc(o, func(a, b option) int { return strings.Compare(a.Label, b.Label) })
	}
	title := "New schedule"
	if !f.New {
		title = "Schedule " + f.S.Name
	}
	return page{Template: "schedule", Title: title, Nav: "schedules", Data: f}, nil
}
