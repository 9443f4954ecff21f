package reconcile

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/state"
)

// PostedName is the file name in the diagnostics of a document posted for
// planning (`jagad plan` shows the user's file name in its place).
const PostedName = "jagad.yaml"

// PlanBytes plans a YAML document against the current store; nothing is
// applied. It resolves ${VAR} as the daemon does, but refuses ${file:...}
// (the daemon would read its own files for whoever posts a document), and
// nothing it returns shows a resolved value: diagnostics quote the
// reference, a name that came from an expansion is shown as the document
// writes it, and a pruned record named by an expansion in the daemon's own
// file is shown as that file writes it.
func (r *Reconciler) PlanBytes(data []byte) (*Plan, error) {
	opts := r.loadOptions()
	opts.DenyFileRefs = true
	f, rep := config.Parse(PostedName, data, opts)
	if err := rep.Err(); err != nil {
		return nil, err
	}
	var p *Plan
	err := r.opts.Store.View(func(tx *state.Tx) error {
		var err error
		p, err = r.plan(tx, f)
		return err
	})
	good := r.LastGood()
	if err != nil {
		if good != nil {
			err = good.Expansions.RedactError(err)
		}
		return nil, err
	}
	if good != nil {
		p.showStoredAsWritten(good)
	}
	return p, nil
}

// writtenNames maps kind → name → the text the file has for that name, for
// the names that came from a ${...} expansion. A value the file also
// writes literally somewhere is no secret and is left as it is.
type writtenNames map[string]map[string]string

func newWrittenNames(f *config.File) writtenNames {
	w := writtenNames{}
	x := f.Expansions
	add := func(kind, path, name string) {
		if name == "" {
			return
		}
		if w[kind] == nil {
			w[kind] = map[string]string{}
		}
		text, expanded := x.Written(path)
		if prev, seen := w[kind][name]; seen && (prev == "" || !expanded) {
			w[kind][name] = "" // written literally somewhere
			return
		}
		if !expanded {
			text = ""
		}
		w[kind][name] = text
	}
	for i, s := range f.Storage {
		add("storage", "storage["+strconv.Itoa(i)+"].name", s.Name)
	}
	for i, c := range f.Connections {
		p := "connections[" + strconv.Itoa(i) + "]"
		add("connection", p+".name", c.Name)
		for j, db := range c.Databases {
			add("database", p+".databases["+strconv.Itoa(j)+"]", db)
		}
	}
	for i, n := range f.Notifications {
		add("notification", "notifications["+strconv.Itoa(i)+"].name", n.Name)
	}
	for i, s := range f.Schedules {
		p := "schedules[" + strconv.Itoa(i) + "]"
		add("schedule", p+".name", s.Name)
		add("database", p+".database", s.Database)
	}
	for i, t := range f.Tokens {
		add("token", "tokens["+strconv.Itoa(i)+"].name", t.Name)
	}
	return w
}

// show returns how a name of kind is shown, and whether that differs
// from the name. A database item is named "connection/database".
func (w writtenNames) show(kind, name string) (string, bool) {
	if kind == "database" {
		conn, db, ok := strings.Cut(name, "/")
		if !ok {
			return name, false
		}
		c, cok := w.show("connection", conn)
		d, dok := w.show("database", db)
		return c + "/" + d, cok || dok
	}
	if text := w[kind][name]; text != "" {
		return text, true
	}
	return name, false
}

// showAsWritten shows every name that came from an expansion as f writes
// it; the ID of such an item (derived from the name) is left out.
func (p *Plan) showAsWritten(f *config.File) {
	p.rename(newWrittenNames(f), func(Item) bool { return true })
}

// showStoredAsWritten does the same for the items named after a stored
// record that f (the daemon's own file) declared: prunes and cascades.
func (p *Plan) showStoredAsWritten(f *config.File) {
	p.rename(newWrittenNames(f), func(it Item) bool { return it.Action == Prune })
}

func (p *Plan) rename(w writtenNames, which func(Item) bool) {
	for i := range p.Items {
		it := &p.Items[i]
		if !which(*it) {
			continue
		}
		if name, changed := w.show(it.Kind, it.Name); changed {
			it.Name, it.ID = name, ""
		}
		if kind, name, ok := strings.Cut(it.Cascade, " "); ok {
			if shown, changed := w.show(kind, name); changed {
				it.Cascade = kind + " " + shown
			}
		}
	}
}

// Action is what a plan does to one record.
type Action string

// Plan actions.
const (
	Create    Action = "create"
	Update    Action = "update"
	Adopt     Action = "adopt"
	Prune     Action = "prune"
	Unchanged Action = "unchanged"
)

// Item is one planned change (or non-change) of one record.
type Item struct {
	Kind   string   `json:"kind"`
	Name   string   `json:"name"`
	ID     string   `json:"id,omitempty"` // omitted when the name is shown as the file writes it
	Action Action   `json:"action"`
	Fields []string `json:"fields,omitempty"` // changed fields of an update or adopt
	// Cascade names the pruned record that takes this one with it (an
	// API-made database record of a pruned connection).
	Cascade string `json:"cascade,omitempty"`
}

// Plan is the diff between the file and the store, in dependency order.
// Creates and updates come first (settings, storage, connections, databases,
// notifications, schedules); prunes follow in reverse order.
type Plan struct {
	Items []Item `json:"items"`
	// FileManaged is the number of file-managed records before the plan.
	FileManaged int `json:"file_managed"`
	// Held is "prune guard" when the plan would delete too much and waits for confirmation.
	Held string `json:"held,omitempty"`

	writes      []func(tx *state.Tx) error
	kindManaged map[string]int // file-managed records before the plan, per kind
}

// clone returns a copy of the plan's items and counts, without its writes.
func (p *Plan) clone() *Plan {
	return &Plan{Items: append([]Item(nil), p.Items...), FileManaged: p.FileManaged, Held: p.Held}
}

// Changes counts the items that write something.
func (p *Plan) Changes() int {
	n := 0
	for _, it := range p.Items {
		if it.Action != Unchanged {
			n++
		}
	}
	return n
}

// Count returns how many items have the action.
func (p *Plan) Count(a Action) int {
	n := 0
	for _, it := range p.Items {
		if it.Action == a {
			n++
		}
	}
	return n
}

// Summary is a one-line account such as "2 create, 1 update, 0 adopt, 1 prune, 10 unchanged".
func (p *Plan) Summary() string {
	parts := make([]string, 0, 5)
	for _, a := range []Action{Create, Update, Adopt, Prune, Unchanged} {
		parts = append(parts, fmt.Sprintf("%d %s", p.Count(a), a))
	}
	return strings.Join(parts, ", ")
}

// countManaged counts a file-managed record of a kind that exists before the plan.
func (p *Plan) countManaged(kind string) {
	if p.kindManaged == nil {
		p.kindManaged = map[string]int{}
	}
	p.FileManaged++
	p.kindManaged[kind]++
}

// planner accumulates items and the writes that apply them.
type planner struct {
	tx   *state.Tx
	now  time.Time
	plan *Plan
	ids  map[state.Kind]map[string]string // kind → name → ID after the plan
	// names maps kind → ID → name of the records stored before the plan.
	names map[state.Kind]map[string]string
	// doomed maps kind → ID → name of the file-managed records the plan prunes.
	doomed map[state.Kind]map[string]string
}

func (pl *planner) add(it Item, w func(tx *state.Tx) error) {
	pl.plan.Items = append(pl.plan.Items, it)
	if w != nil {
		pl.plan.writes = append(pl.plan.writes, w)
	}
}

func (pl *planner) resolve(k state.Kind, name string) string {
	if name == "" {
		return ""
	}
	if id, ok := pl.ids[k][name]; ok {
		return id
	}
	return state.DerivedID(k, name)
}

// compute builds the plan for d against the store as seen by tx.
func compute(tx *state.Tx, d *desired, now time.Time) (*Plan, error) {
	pl := &planner{tx: tx, now: now, plan: &Plan{}, ids: map[state.Kind]map[string]string{},
		names: map[state.Kind]map[string]string{}, doomed: map[state.Kind]map[string]string{}}
	var prunes []func()
	steps := []func() (func(), error){
		func() (func(), error) { return pl.planSettings(d.settings) },
		func() (func(), error) { return planKind(pl, d.providers, providerOps) },
		func() (func(), error) { return nil, pl.planDefaultProvider(d.providers) },
		func() (func(), error) { return planKind(pl, d.connections, connectionOps) },
		func() (func(), error) { return pl.planDatabases(d.databases) },
		func() (func(), error) { return planKind(pl, d.notifications, notificationOps) },
		func() (func(), error) { return planKind(pl, pl.scheduleSpecs(d.schedules), scheduleOps) },
		func() (func(), error) { return planKind(pl, d.tokens, tokenOps) }, // tokens.go
	}
	for _, step := range steps {
		prune, err := step()
		if err != nil {
			return nil, err
		}
		prunes = append(prunes, prune)
	}
	if err := pl.checkAPIReferences(); err != nil {
		return nil, err
	}
	for i := len(prunes) - 1; i >= 0; i-- {
		if prunes[i] != nil {
			prunes[i]()
		}
	}
	return pl.plan, nil
}

// specFields lists the JSON names of the fields that differ between two specs.
func specFields(a, b any) []string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	t := va.Type()
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			name := strings.Split(t.Field(i).Tag.Get("json"), ",")[0]
			if name == "" {
				name = t.Field(i).Name
			}
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// planDefaultProvider makes a default the file declares the only one: an
// API-made provider marked default loses the flag (one default, and the
// file's word wins, as with every other setting it declares).
func (pl *planner) planDefaultProvider(want []state.ProviderSpec) error {
	if !slices.ContainsFunc(want, func(p state.ProviderSpec) bool { return p.IsDefault }) {
		return nil
	}
	current, err := state.List[state.Provider](pl.tx)
	if err != nil {
		return err
	}
	declared := map[string]bool{}
	for _, w := range want {
		declared[w.Name] = true
	}
	for _, p := range current {
		// Records the file declares (adopted ones too) get their flag from it.
		if p.ManagedBy == state.ManagedByFile || !p.IsDefault || declared[p.Name] {
			continue
		}
		rec := p
		rec.IsDefault, rec.UpdatedAt = false, pl.now
		pl.add(Item{Kind: "storage", Name: p.Name, ID: p.ID, Action: Update, Fields: []string{"is_default"}}, putFn(rec))
	}
	return nil
}

// checkAPIReferences refuses a plan that would prune a record an API-made
// schedule still uses: the schedule would then fail at every run. The
// operator deletes or changes the schedule first, as the API's own 409 on
// deleting a used record asks.
func (pl *planner) checkAPIReferences() error {
	schedules, err := state.List[state.Schedule](pl.tx)
	if err != nil {
		return err
	}
	var errs []string
	for _, sc := range schedules {
		if sc.ManagedBy == state.ManagedByFile {
			continue // the file itself was validated: its references resolve
		}
		refs := []struct {
			kind state.Kind
			word string
			ids  []string
		}{
			{state.KindConnection, "connection", []string{sc.ConnectionID}},
			{state.KindDatabase, "database", []string{sc.DatabaseID}},
			{state.KindProvider, "storage provider", []string{sc.StorageProviderID}},
			{state.KindNotification, "notification", sc.NotifTargetIDs},
		}
		for _, ref := range refs {
			for _, id := range ref.ids {
				if name, ok := pl.doomed[ref.kind][id]; ok {
					errs = append(errs, fmt.Sprintf("schedule %q (made through the API) uses %s %q, which jagad.yaml no longer declares; "+
						"delete or change that schedule first, or keep the %s in the file", sc.Name, ref.word, name, ref.word))
				}
			}
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// doom records that the plan prunes a file-managed record.
func (pl *planner) doom(k state.Kind, id, name string) {
	if pl.doomed[k] == nil {
		pl.doomed[k] = map[string]string{}
	}
	pl.doomed[k][id] = name
}
