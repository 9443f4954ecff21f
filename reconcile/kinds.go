package reconcile

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/jagad/jagad/state"
)

// kindOps adapts one record kind (with a Meta and a Spec) to the generic planner.
type kindOps[S any, R state.Record] struct {
	label string // the kind's word in plans and messages
	kind  state.Kind
	name  func(S) string
	spec  func(R) S
	meta  func(R) state.Meta
	// build makes the record to store; old is the current record or nil.
	build func(m state.Meta, s S, old *R) R
	// keeper, when set, returns what keeps the parts of a record that
	// outlive a prune, for a record of the same name created later.
	keeper func(tx *state.Tx, now time.Time) (keeper[R], error)
}

// keeper carries what must outlive a pruned record to the record created
// later under the same name.
type keeper[R any] interface {
	pruned(name string, old R)
	created(name string, rec R) R
	adopted(name string)
	// write stores what changed; nil when nothing did.
	write() func(tx *state.Tx) error
}

var providerOps = kindOps[state.ProviderSpec, state.Provider]{
	label: "storage", kind: state.KindProvider,
	name: func(s state.ProviderSpec) string { return s.Name },
	spec: func(r state.Provider) state.ProviderSpec { return r.ProviderSpec },
	meta: func(r state.Provider) state.Meta { return r.Meta },
	build: func(m state.Meta, s state.ProviderSpec, _ *state.Provider) state.Provider {
		return state.Provider{Meta: m, ProviderSpec: s}
	},
}

var connectionOps = kindOps[state.ConnectionSpec, state.Connection]{
	label: "connection", kind: state.KindConnection,
	name: func(s state.ConnectionSpec) string { return s.Name },
	spec: func(r state.Connection) state.ConnectionSpec { return r.ConnectionSpec },
	meta: func(r state.Connection) state.Meta { return r.Meta },
	build: func(m state.Meta, s state.ConnectionSpec, _ *state.Connection) state.Connection {
		return state.Connection{Meta: m, ConnectionSpec: s}
	},
}

var notificationOps = kindOps[state.NotificationSpec, state.Notification]{
	label: "notification", kind: state.KindNotification,
	name: func(s state.NotificationSpec) string { return s.Name },
	spec: func(r state.Notification) state.NotificationSpec { return r.NotificationSpec },
	meta: func(r state.Notification) state.Meta { return r.Meta },
	build: func(m state.Meta, s state.NotificationSpec, _ *state.Notification) state.Notification {
		return state.Notification{Meta: m, NotificationSpec: s}
	},
}

var scheduleOps = kindOps[state.ScheduleSpec, state.Schedule]{
	label: "schedule", kind: state.KindSchedule,
	name: func(s state.ScheduleSpec) string { return s.Name },
	spec: func(r state.Schedule) state.ScheduleSpec { return r.ScheduleSpec },
	meta: func(r state.Schedule) state.Meta { return r.Meta },
	build: func(m state.Meta, s state.ScheduleSpec, old *state.Schedule) state.Schedule {
		sch := state.Schedule{Meta: m, ScheduleSpec: s}
		// An API override lasts until the file's value for that field changes.
		if old != nil && old.Override != nil && old.ManagedBy == state.ManagedByFile && old.Enabled == s.Enabled {
			sch.Override = old.Override
		}
		return sch
	},
	keeper: func(tx *state.Tx, now time.Time) (keeper[state.Schedule], error) {
		kept, err := tx.KeptOverrides()
		if err != nil {
			return nil, fmt.Errorf("kept overrides: %w", err)
		}
		return &overrideKeeper{kept: kept, now: now}, nil
	},
}

// maxKeptOverrides bounds the overrides kept for pruned schedules; the
// oldest go first.
const maxKeptOverrides = 100

// overrideKeeper keeps the API override of a pruned file-managed schedule,
// so that a prune and a recreate of the same name (a file read half-written,
// a revert) do not silently undo an operator's suspend. The override comes
// back unless the file's enabled differs from its value at the prune, as an
// override lasts until the file's value for that field changes.
type overrideKeeper struct {
	kept    map[string]state.KeptOverride
	now     time.Time
	changed bool
}

func (k *overrideKeeper) pruned(name string, old state.Schedule) {
	if old.Override == nil {
		return
	}
	k.kept[name] = state.KeptOverride{Override: *old.Override, Enabled: old.Enabled, PrunedAt: k.now}
	k.changed = true
}

func (k *overrideKeeper) created(name string, rec state.Schedule) state.Schedule {
	ko, ok := k.kept[name]
	if !ok {
		return rec
	}
	delete(k.kept, name)
	k.changed = true
	if ko.Enabled == rec.Enabled {
		o := ko.Override
		rec.Override = &o
	}
	return rec
}

// adopted forgets an override kept for a name that an API-made record now
// holds: that record has overrides of its own.
func (k *overrideKeeper) adopted(name string) {
	if _, ok := k.kept[name]; ok {
		delete(k.kept, name)
		k.changed = true
	}
}

func (k *overrideKeeper) write() func(tx *state.Tx) error {
	if !k.changed {
		return nil
	}
	for len(k.kept) > maxKeptOverrides {
		oldest := ""
		for name, ko := range k.kept {
			if oldest == "" || ko.PrunedAt.Before(k.kept[oldest].PrunedAt) {
				oldest = name
			}
		}
		delete(k.kept, oldest)
	}
	kept := k.kept
	return func(tx *state.Tx) error { return tx.PutKeptOverrides(kept) }
}

// planKind diffs the wanted specs of one kind against the stored records.
// It returns a function that appends the kind's prunes, so that the caller
// can add prunes in reverse dependency order.
func planKind[S any, R state.Record](pl *planner, want []S, ops kindOps[S, R]) (func(), error) {
	current, err := state.List[R](pl.tx)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]R, len(current))
	names := make(map[string]string, len(current))
	pl.names[ops.kind] = names
	for _, r := range current {
		byName[ops.name(ops.spec(r))] = r
		names[r.RecordID()] = ops.name(ops.spec(r))
		if ops.meta(r).ManagedBy == state.ManagedByFile {
			pl.plan.countManaged(ops.label)
		}
	}
	var kp keeper[R]
	if ops.keeper != nil {
		if kp, err = ops.keeper(pl.tx, pl.now); err != nil {
			return nil, err
		}
	}
	ids := map[string]string{}
	pl.ids[ops.kind] = ids
	wanted := make(map[string]bool, len(want))
	for _, s := range want {
		name := ops.name(s)
		wanted[name] = true
		old, exists := byName[name]
		switch {
		case !exists:
			id := state.DerivedID(ops.kind, name)
			ids[name] = id
			rec := ops.build(state.Meta{ID: id, ManagedBy: state.ManagedByFile, CreatedAt: pl.now, UpdatedAt: pl.now}, s, nil)
			if kp != nil {
				rec = kp.created(name, rec)
			}
			pl.add(Item{Kind: ops.label, Name: name, ID: id, Action: Create}, putFn(rec))
		case ops.meta(old).ManagedBy != state.ManagedByFile:
			m := ops.meta(old)
			ids[name] = m.ID
			rec := ops.build(state.Meta{ID: m.ID, ManagedBy: state.ManagedByFile, CreatedAt: m.CreatedAt, UpdatedAt: pl.now}, s, &old)
			if kp != nil {
				kp.adopted(name)
			}
			pl.add(Item{Kind: ops.label, Name: name, ID: m.ID, Action: Adopt, Fields: specFields(ops.spec(old), s)}, putFn(rec))
		default:
			m := ops.meta(old)
			ids[name] = m.ID
			rec := ops.build(state.Meta{ID: m.ID, ManagedBy: state.ManagedByFile, CreatedAt: m.CreatedAt, UpdatedAt: pl.now}, s, &old)
			if reflect.DeepEqual(ops.spec(old), s) && reflect.DeepEqual(rec, withUpdatedAt(old, rec)) {
				pl.add(Item{Kind: ops.label, Name: name, ID: m.ID, Action: Unchanged}, nil)
				continue
			}
			fields := specFields(ops.spec(old), s)
			if len(fields) == 0 {
				fields = []string{"override"}
			}
			pl.add(Item{Kind: ops.label, Name: name, ID: m.ID, Action: Update, Fields: fields}, putFn(rec))
		}
	}
	var gone []R
	for _, r := range current {
		if ops.meta(r).ManagedBy == state.ManagedByFile && !wanted[ops.name(ops.spec(r))] {
			gone = append(gone, r)
			pl.doom(ops.kind, r.RecordID(), ops.name(ops.spec(r)))
			if kp != nil {
				kp.pruned(ops.name(ops.spec(r)), r)
			}
		}
	}
	if kp != nil {
		if w := kp.write(); w != nil {
			pl.plan.writes = append(pl.plan.writes, w)
		}
	}
	prune := func() {
		sort.Slice(gone, func(i, j int) bool { return ops.name(ops.spec(gone[i])) < ops.name(ops.spec(gone[j])) })
		for _, r := range gone {
			id := r.RecordID()
			pl.add(Item{Kind: ops.label, Name: ops.name(ops.spec(r)), ID: id, Action: Prune}, func(tx *state.Tx) error {
				return state.Delete[R](tx, id)
			})
		}
	}
	return prune, nil
}

// withUpdatedAt returns old with the UpdatedAt of rec, so that records can be
// compared without their timestamps.
func withUpdatedAt[R any](old, rec R) R {
	vo := reflect.ValueOf(&old).Elem()
	vr := reflect.ValueOf(rec)
	if f := vo.FieldByName("UpdatedAt"); f.IsValid() && f.CanSet() {
		f.Set(vr.FieldByName("UpdatedAt"))
	}
	return old
}

func putFn[R state.Record](rec R) func(tx *state.Tx) error {
	return func(tx *state.Tx) error { return state.Put(tx, rec) }
}

// scheduleSpecs resolves the names a schedule refers to into IDs, using the
// IDs that earlier steps of the plan settled on.
func (pl *planner) scheduleSpecs(in []desiredSchedule) []state.ScheduleSpec {
	out := make([]state.ScheduleSpec, 0, len(in))
	for _, ds := range in {
		s := ds.spec
		s.ConnectionID = pl.resolve(state.KindConnection, ds.connection)
		s.DatabaseID = databaseID(s.ConnectionID, ds.database)
		s.StorageProviderID = pl.resolve(state.KindProvider, ds.storage)
		for _, n := range ds.notifications {
			s.NotifTargetIDs = append(s.NotifTargetIDs, pl.resolve(state.KindNotification, n))
		}
		for _, c := range ds.copies {
			s.CopiesTo = append(s.CopiesTo, copyTarget(pl.resolve(state.KindProvider, c.Storage), c))
		}
		if s.RestoreTest != nil {
			rt := *s.RestoreTest
			rt.ConnectionID = pl.resolve(state.KindConnection, ds.restoreConn)
			s.RestoreTest = &rt
		}
		out = append(out, s)
	}
	return out
}

// databaseID is the ID of a database record: derived from its connection and
// name, so that discovered and declared databases agree.
func databaseID(connectionID, name string) string {
	return state.DerivedID(state.KindDatabase, connectionID+"/"+name)
}

// planDatabases declares the databases that connections list and schedules use.
func (pl *planner) planDatabases(want []desiredDB) (func(), error) {
	current, err := state.List[state.Database](pl.tx)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]state.Database, len(current))
	for _, db := range current {
		byID[db.ID] = db
		if db.ManagedBy == state.ManagedByFile {
			pl.plan.countManaged("database")
		}
	}
	wanted := map[string]bool{}
	for _, w := range want {
		connID := pl.resolve(state.KindConnection, w.connection)
		id := databaseID(connID, w.name)
		wanted[id] = true
		label := w.connection + "/" + w.name
		old, exists := byID[id]
		switch {
		case !exists:
			rec := state.Database{ID: id, ConnectionID: connID, DBName: w.name, IsSelected: true, ManagedBy: state.ManagedByFile, CreatedAt: pl.now}
			pl.add(Item{Kind: "database", Name: label, ID: id, Action: Create}, putFn(rec))
		case old.ManagedBy != state.ManagedByFile || !old.IsSelected:
			action := Adopt
			if old.ManagedBy == state.ManagedByFile {
				action = Update
			}
			rec := old
			rec.ManagedBy, rec.IsSelected = state.ManagedByFile, true
			pl.add(Item{Kind: "database", Name: label, ID: id, Action: action, Fields: []string{"is_selected"}}, putFn(rec))
		default:
			pl.add(Item{Kind: "database", Name: label, ID: id, Action: Unchanged}, nil)
		}
	}
	connNames := pl.names[state.KindConnection] // the stored connections, listed by planKind
	goneConns := pl.doomed[state.KindConnection]
	var gone []state.Database
	cascade := map[string]string{} // database ID → the pruned connection that takes it
	for _, db := range current {
		switch {
		case wanted[db.ID]:
		case db.ManagedBy == state.ManagedByFile:
			gone = append(gone, db)
			pl.doom(state.KindDatabase, db.ID, strings.TrimPrefix(connNames[db.ConnectionID]+"/"+db.DBName, "/"))
		case goneConns[db.ConnectionID] != "":
			// A record made by discovery or the API goes with its
			// connection, as when the API deletes the connection.
			gone = append(gone, db)
			cascade[db.ID] = "connection " + goneConns[db.ConnectionID]
		}
	}
	return func() {
		for _, db := range gone {
			id := db.ID
			label := strings.TrimPrefix(connNames[db.ConnectionID]+"/"+db.DBName, "/")
			pl.add(Item{Kind: "database", Name: label, ID: id, Action: Prune, Cascade: cascade[id]}, func(tx *state.Tx) error {
				return state.Delete[state.Database](tx, id)
			})
		}
	}, nil
}
