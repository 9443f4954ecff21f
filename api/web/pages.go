package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/state"
)

// scheduleRow is one schedule as the overview and schedules pages show it.
type scheduleRow struct {
	state.Schedule
	Connection, Database string
	Effective            bool // enabled, with the override applied
	OverrideSet          bool // a runtime override of enabled is in force
	LastSuccess          *time.Time
	Age                  time.Duration // since the last success
	Overdue              bool          // age > max_age, or never succeeded with a max_age
	Next, Last           *time.Time
	LastStatus           string
	Running              bool
	LastDrill            *state.Restore // newest restore drill of its backups
	// recent: the schedule's newest backups, read once for the row and
	// the overview's charts.
	recent []state.Backup
}

// lastSuccessWindow: a row's last success is looked for among the
// schedule's newest backups this many.
const lastSuccessWindow = 50

// names resolves connection and database IDs to names.
type names struct {
	conns map[string]state.Connection
	dbs   map[string]state.Database
}

func loadNames(tx *state.Tx) (names, error) {
	n := names{conns: map[string]state.Connection{}, dbs: map[string]state.Database{}}
	cs, err := state.List[state.Connection](tx)
	if err != nil {
		return n, err
	}
	for _, c := range cs {
		n.conns[c.ID] = c
	}
	ds, err := state.List[state.Database](tx)
	for _, d := range ds {
		n.dbs[d.ID] = d
	}
	return n, err
}

// scheduleRows reads every schedule with its last success, newest data
// first, keeping its newest max(recent, lastSuccessWindow) backups in the row.
func (u *ui) scheduleRows(tx *state.Tx, n names, running map[string]bool, recent int) ([]scheduleRow, error) {
	all, err := state.List[state.Schedule](tx)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b state.Schedule) int { return strings.Compare(a.Name, b.Name) })
	now := u.now()
	drills, err := lastDrills(tx)
	if err != nil {
		return nil, err
	}
	rows := make([]scheduleRow, 0, len(all))
	for _, s := range all {
		r := scheduleRow{Schedule: s, Connection: n.conns[s.ConnectionID].Name, Database: n.dbs[s.DatabaseID].DBName,
			Effective: s.EffectiveEnabled(), OverrideSet: s.Override != nil && s.Override.Enabled != nil,
			Running: running[s.ID], LastDrill: drills[s.ID]}
		bs, err := tx.ListBackups(state.BackupQuery{ScheduleID: s.ID, Limit: max(recent, lastSuccessWindow)})
		if err != nil {
			return nil, err
		}
		r.recent = bs
		for _, b := range bs[:min(len(bs), lastSuccessWindow)] {
			if b.Status == state.StatusSuccess && b.CompletedAt != nil {
				t := *b.CompletedAt
				r.LastSuccess, r.Age = &t, now.Sub(t)
				break
			}
		}
		if s.MaxAge > 0 && r.Effective {
			r.Overdue = r.LastSuccess == nil && now.Sub(s.CreatedAt) > time.Duration(s.MaxAge) ||
				r.LastSuccess != nil && r.Age > time.Duration(s.MaxAge)
		}
		if u.d.ScheduleInfo != nil {
			r.Next, r.Last, r.LastStatus = u.d.ScheduleInfo(s.ID)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// lastDrills maps schedule IDs to the newest restore drill of their
// backups (among the newest 200 drills).
func lastDrills(tx *state.Tx) (map[string]*state.Restore, error) {
	all, err := state.List[state.Restore](tx)
	if err != nil {
		return nil, err
	}
	var drills []state.Restore
	for _, r := range all {
		if r.Drill {
			drills = append(drills, r)
		}
	}
	slices.SortFunc(drills, func(a, b state.Restore) int { return b.CreatedAt.Compare(a.CreatedAt) })
	out := map[string]*state.Restore{}
	for i := range drills[:min(len(drills), 200)] {
		b, err := state.Get[state.Backup](tx, drills[i].BackupID)
		if err != nil || b.ScheduleID == "" || out[b.ScheduleID] != nil {
			continue
		}
		out[b.ScheduleID] = &drills[i]
	}
	return out, nil
}

// configView is the config state line of the overview and the config page.
type configView struct {
	Enabled bool // a jagad.yaml is in use
	state.ConfigStatus
	Err error
}

func (u *ui) configView() configView {
	if u.d.ConfigStatus == nil {
		return configView{}
	}
	st, err := u.d.ConfigStatus()
	return configView{Enabled: true, ConfigStatus: st, Err: err}
}

// rate is a success rate over a window.
type rate struct {
	Days             int
	Success, Total   int
	Percent          float64
	HasData, Partial bool
}

type overviewData struct {
	Schedules  []scheduleRow
	Config     configView
	Stats      state.BackupStats
	Rates      []rate
	RatesAt    time.Time
	Running    []engine.Progress
	Recent     []state.Backup
	Charts     []chart
	NoSchedule bool
}

// successRates counts the backups of the last 7 and 30 days, reading newest
// first and stopping at the window's start (at most 5,000 records).
func successRates(tx *state.Tx, now time.Time) ([]rate, error) {
	rates := []rate{{Days: 7}, {Days: 30}}
	const page, most = 500, 5000
	for off := 0; off < most; off += page {
		bs, err := tx.ListBackups(state.BackupQuery{Limit: page, Offset: off})
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			age := now.Sub(b.CreatedAt)
			if age > 30*24*time.Hour {
				return finishRates(rates), nil
			}
			for i := range rates {
				if age <= time.Duration(rates[i].Days)*24*time.Hour && (b.Status == state.StatusSuccess || b.Status == state.StatusFailed) {
					rates[i].Total++
					if b.Status == state.StatusSuccess {
						rates[i].Success++
					}
				}
			}
		}
		if len(bs) < page {
			return finishRates(rates), nil
		}
	}
	for i := range rates {
		rates[i].Partial = true
	}
	return finishRates(rates), nil
}

func finishRates(rs []rate) []rate {
	for i := range rs {
		if rs[i].Total > 0 {
			rs[i].HasData = true
			rs[i].Percent = 100 * float64(rs[i].Success) / float64(rs[i].Total)
		}
	}
	return rs
}

// running is the live progress of running jobs.
func (u *ui) running() []engine.Progress {
	if u.d.Progress == nil {
		return nil
	}
	return u.d.Progress()
}

func (u *ui) overview(_ http.ResponseWriter, _ *http.Request) (page, error) {
	var d overviewData
	d.Running = u.running()
	runningSchedules := map[string]bool{}
	err := u.d.Store.View(func(tx *state.Tx) error {
		n, err := loadNames(tx)
		if err != nil {
			return err
		}
		for _, p := range d.Running {
			if p.Kind == "backup" {
				if b, err := state.Get[state.Backup](tx, p.ID); err == nil && b.ScheduleID != "" {
					runningSchedules[b.ScheduleID] = true
				}
			}
		}
		if d.Schedules, err = u.scheduleRows(tx, n, runningSchedules, chartBackups); err != nil {
			return err
		}
		if d.Stats, err = tx.BackupStats(); err != nil {
			return err
		}
		if d.Recent, err = tx.ListBackups(state.BackupQuery{Limit: 8}); err != nil {
			return err
		}
		d.Charts = scheduleCharts(d.Schedules)
		return nil
	})
	if err != nil {
		return page{}, err
	}
	if d.Rates, d.RatesAt, err = u.rates.get(u.d.Store, u.now()); err != nil {
		return page{}, err
	}
	d.Config = u.configView()
	d.NoSchedule = len(d.Schedules) == 0
	return page{Template: "overview", Title: "Overview", Nav: "overview", Data: d, Live: true, Watch: "backup restore schedule config_status settings"}, nil
}

func (u *ui) schedules(_ http.ResponseWriter, _ *http.Request) (page, error) {
	var rows []scheduleRow
	running := u.running()
	runningSchedules := map[string]bool{}
	err := u.d.Store.View(func(tx *state.Tx) error {
		n, err := loadNames(tx)
		if err != nil {
			return err
		}
		for _, p := range running {
			if b, err := state.Get[state.Backup](tx, p.ID); err == nil && b.ScheduleID != "" {
				runningSchedules[b.ScheduleID] = true
			}
		}
		rows, err = u.scheduleRows(tx, n, runningSchedules, 0)
		return err
	})
	if err != nil {
		return page{}, err
	}
	return page{Template: "schedules", Title: "Schedules", Nav: "schedules", Data: rows, Live: true, Watch: "schedule backup config_status"}, nil
}

func (u *ui) config(_ http.ResponseWriter, _ *http.Request) (page, error) {
	v := u.configView()
	type override struct {
		ID, Name string
		Enabled  bool
	}
	var ovs []override
	err := u.d.Store.View(func(tx *state.Tx) error {
		all, err := state.List[state.Schedule](tx)
		for _, s := range all {
			if s.ManagedBy == state.ManagedByFile && s.Override != nil && s.Override.Enabled != nil {
				ovs = append(ovs, override{s.ID, s.Name, *s.Override.Enabled})
			}
		}
		return err
	})
	if err != nil {
		return page{}, err
	}
	slices.SortFunc(ovs, func(a, b override) int { return strings.Compare(a.Name, b.Name) })
	data := struct {
		Config    configView
		Overrides []override
		ErrLines  []errLine
	}{v, ovs, splitError(v.LastError)}
	return page{Template: "config", Title: "Config (GitOps)", Nav: "config", Data: data, Live: true, Watch: "config_status schedule settings"}, nil
}

// errLine is one line of a config error; Loc is its FILE:LINE:COL prefix.
type errLine struct{ Loc, Text string }

// splitError splits "jagad.yaml:12:3: message" lines into location and text.
func splitError(s string) []errLine {
	if s == "" {
		return nil
	}
	var out []errLine
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if loc, text, ok := splitLoc(l); ok {
			out = append(out, errLine{loc, text})
		} else {
			out = append(out, errLine{Text: l})
		}
	}
	return out
}

// splitLoc finds a FILE:LINE:COL: prefix anywhere in l.
func splitLoc(l string) (loc, text string, ok bool) {
	for i := 0; i < len(l); i++ {
		j := strings.Index(l[i:], ":")
		if j < 0 {
			return "", "", false
		}
		line, tail := digits(l[i+j+1:])
		if line != "" && strings.HasPrefix(tail, ":") {
			col, tail2 := digits(tail[1:])
			if col != "" && strings.HasPrefix(tail2, ":") {
				start := strings.LastIndexAny(l[:i+j], " \t(") + 1
				text := strings.TrimSpace(strings.TrimSpace(l[:start]) + " " + strings.TrimSpace(tail2[1:]))
				return l[start : len(l)-len(tail2)], text, true
			}
		}
		i += j
	}
	return "", "", false
}

// digits splits s into its leading digits and the rest.
func digits(s string) (d, rest string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i], s[i:]
}

func (u *ui) restores(_ http.ResponseWriter, _ *http.Request) (page, error) {
	var all []state.Restore
	err := u.d.Store.View(func(tx *state.Tx) (err error) {
		all, err = state.List[state.Restore](tx)
		return err
	})
	if err != nil {
		return page{}, err
	}
	slices.SortFunc(all, func(a, b state.Restore) int { return b.CreatedAt.Compare(a.CreatedAt) })
	if len(all) > 100 {
		all = all[:100]
	}
	return page{Template: "restores", Title: "Restores", Nav: "restores", Data: all, Live: true, Watch: "restore:shown"}, nil
}

func (u *ui) restore(_ http.ResponseWriter, r *http.Request) (page, error) {
	var d struct {
		Restore  state.Restore
		Backup   state.Backup
		Target   string
		Progress *engine.Progress
	}
	err := u.d.Store.View(func(tx *state.Tx) error {
		var err error
		if d.Restore, err = state.Get[state.Restore](tx, r.PathValue("id")); err != nil {
			return err
		}
		d.Backup, _ = state.Get[state.Backup](tx, d.Restore.BackupID)
		if c, err := state.Get[state.Connection](tx, d.Restore.TargetConnection); err == nil {
			d.Target = c.Name
		}
		return nil
	})
	if errors.Is(err, state.ErrNotFound) {
		return page{}, notFoundf("No restore with this ID.")
	}
	if err != nil {
		return page{}, err
	}
	running := u.running()
	for _, p := range running {
		if p.ID == d.Restore.ID {
			d.Progress = &p
		}
	}
	return page{Template: "restore", Title: "Restore " + d.Restore.ID, Nav: "restores", Data: d, Live: true, Watch: "restore:" + d.Restore.ID}, nil
}

func (u *ui) restoreWizard(_ http.ResponseWriter, r *http.Request) (page, error) {
	var d struct {
		Backup      *state.Backup
		Candidates  []state.Backup
		Connections []state.Connection
		SuggestedDB string
		// Caps: the restore options the backup's kind declares (a point
		// in time only when it supports one).
		Caps engine.Capabilities
		conn *state.Connection
	}
	id := r.URL.Query().Get("backup")
	err := u.d.Store.View(func(tx *state.Tx) error {
		if id == "" {
			bs, err := tx.ListBackups(state.BackupQuery{Limit: 200})
			for _, b := range bs {
				if b.Status == state.StatusSuccess && len(d.Candidates) < 50 {
					d.Candidates = append(d.Candidates, b)
				}
			}
			return err
		}
		b, err := state.Get[state.Backup](tx, id)
		if err != nil {
			return err
		}
		d.Backup = &b
		cs, err := state.List[state.Connection](tx)
		for _, c := range cs {
			if c.DBType == b.DBType {
				d.Connections = append(d.Connections, c)
			}
			if c.ID == b.ConnectionID {
				d.conn = &c
			}
		}
		slices.SortFunc(d.Connections, func(a, b state.Connection) int { return strings.Compare(a.Name, b.Name) })
		return err
	})
	if errors.Is(err, state.ErrNotFound) {
		return page{}, notFoundf("No backup with this ID.")
	}
	if err != nil {
		return page{}, err
	}
	if d.Backup != nil {
		d.Caps = u.d.Capabilities(*d.Backup, d.conn)
		d.SuggestedDB = fmt.Sprintf("%s_restored_%s", d.Backup.DatabaseName, u.now().UTC().Format("20060102_1504"))
	}
	return page{Template: "wizard", Title: "Restore a backup", Nav: "restores", Data: d}, nil
}
