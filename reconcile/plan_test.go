package reconcile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/state"
)

// kindRank is the dependency order of the plan's kinds.
var kindRank = map[string]int{
	"setting": 0, "storage": 1, "connection": 2, "database": 3, "notification": 4, "schedule": 5,
}

// wantItem is one item a plan must contain.
type wantItem struct {
	kind, name string
	action     Action
}

// everyKind expects the same action for one record of every kind.
func everyKind(a Action, setting string) []wantItem {
	return []wantItem{
		{"setting", setting, a}, {"storage", "local", a}, {"connection", "pg", a},
		{"database", "pg/app", a}, {"notification", "hook", a}, {"schedule", "nightly", a},
	}
}

var (
	t0      = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	apiMeta = func(id string) state.Meta {
		return state.Meta{ID: id, ManagedBy: state.ManagedByAPI, CreatedAt: t0, UpdatedAt: t0}
	}
	apiConnID  = "conn_api0000000000000001"
	apiSchedID = "sch_api0000000000000001"
)

// seedAPI stores API-made records with the names baseYAML declares.
func seedAPI(tb testing.TB, s *state.Store) {
	tb.Helper()
	mustUpdate(tb, s, func(tx *state.Tx) error {
		recs := []error{
			state.Put(tx, state.Provider{Meta: apiMeta("prov_api0000000000000001"), ProviderSpec: state.ProviderSpec{Name: "local", ProviderType: "local", Path: "/old"}}),
			state.Put(tx, state.Connection{Meta: apiMeta(apiConnID), ConnectionSpec: state.ConnectionSpec{Name: "pg", DBType: "postgresql", Host: "old.example.com", Port: 5432, Username: "backup", Password: "old", SSLMode: "prefer"}}),
			state.Put(tx, state.Database{ID: databaseID(apiConnID, "app"), ConnectionID: apiConnID, DBName: "app", ManagedBy: state.ManagedByAPI, CreatedAt: t0}),
			state.Put(tx, state.Notification{Meta: apiMeta("notif_api0000000000000001"), NotificationSpec: state.NotificationSpec{Name: "hook", NotifType: "webhook", ConfigJSON: `{"url":"https://old.example.com"}`}}),
			state.Put(tx, state.Schedule{Meta: apiMeta(apiSchedID), ScheduleSpec: state.ScheduleSpec{Name: "nightly", ConnectionID: apiConnID, DatabaseID: databaseID(apiConnID, "app"), BackupType: "full", CronExpr: "0 5 * * *", Enabled: true}}),
			tx.PutSettings(state.Settings{Values: map[string]string{"timezone": "Europe/Berlin", "pg_dump_path": "/usr/local/bin/pg_dump"}}),
		}
		for _, err := range recs {
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// adhocConnection is an API-made connection no file declares.
func adhocConnection(tb testing.TB, s *state.Store) {
	tb.Helper()
	mustUpdate(tb, s, func(tx *state.Tx) error {
		return state.Put(tx, state.Connection{Meta: apiMeta("conn_adhoc00000000000001"), ConnectionSpec: state.ConnectionSpec{Name: "adhoc", DBType: "mysql", Host: "x", Port: 3306}})
	})
}

func TestPlanOutcomes(t *testing.T) {
	updated := strings.NewReplacer(
		"pg_dump_path: /usr/bin/pg_dump", "pg_dump_path: /opt/pg/bin/pg_dump",
		"path: /var/backups/jagad", "path: /srv/backups",
		"host: db.example.com", "host: db2.example.com",
		"      url: ${HOOK_URL}\n", "      url: ${HOOK_URL}\n      method: PUT\n",
		`cron_expr: "0 2 * * *"`, `cron_expr: "30 2 * * *"`,
	).Replace(baseYAML)
	tests := []struct {
		name string
		seed func(tb testing.TB, f *fixture)
		file string
		want []wantItem
	}{
		{
			name: "create",
			file: baseYAML,
			want: append(everyKind(Create, "pg_dump_path"), wantItem{"setting", "timezone", Adopt}),
		},
		{
			name: "unchanged",
			seed: func(tb testing.TB, f *fixture) { f.apply(tb, baseYAML) },
			file: baseYAML,
			want: append(everyKind(Unchanged, "pg_dump_path"), wantItem{"setting", "timezone", Unchanged}),
		},
		{
			name: "update",
			seed: func(tb testing.TB, f *fixture) {
				f.apply(tb, baseYAML)
				// A file-managed database that is no longer selected is updated back.
				mustUpdate(tb, f.store, func(tx *state.Tx) error {
					id := databaseID(state.DerivedID(state.KindConnection, "pg"), "app")
					db, err := state.Get[state.Database](tx, id)
					if err != nil {
						return err
					}
					db.IsSelected = false
					return state.Put(tx, db)
				})
			},
			file: updated,
			want: append(everyKind(Update, "pg_dump_path"), wantItem{"setting", "timezone", Unchanged}),
		},
		{
			name: "adopt",
			seed: func(tb testing.TB, f *fixture) { seedAPI(tb, f.store) },
			file: baseYAML,
			want: append(everyKind(Adopt, "pg_dump_path"), wantItem{"setting", "timezone", Adopt}),
		},
		{
			name: "prune",
			seed: func(tb testing.TB, f *fixture) {
				f.apply(tb, extraYAML)
				adhocConnection(tb, f.store)
			},
			file: baseYAML,
			want: append(everyKind(Unchanged, "pg_dump_path"), wantItem{"setting", "timezone", Unchanged},
				wantItem{"setting", "compression", Prune}, wantItem{"storage", "scratch", Prune},
				wantItem{"connection", "my", Prune}, wantItem{"database", "my/shop", Prune},
				wantItem{"notification", "hook2", Prune}, wantItem{"schedule", "weekly", Prune}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, "")
			if tt.seed != nil {
				tt.seed(t, f)
			}
			p, err := f.r.PlanBytes([]byte(tt.file))
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			checkGolden(t, tt.name, p.Items)
			for _, w := range tt.want {
				it, ok := findItem(p, w.kind, w.name)
				if !ok {
					t.Errorf("no item for %s %q in %v", w.kind, w.name, p.Items)
					continue
				}
				if it.Action != w.action {
					t.Errorf("%s %q: action %s, want %s", w.kind, w.name, it.Action, w.action)
				}
				if (it.Action == Update || it.Action == Adopt) && it.Kind != "setting" && len(it.Fields) == 0 {
					t.Errorf("%s %q: %s without changed fields", w.kind, w.name, it.Action)
				}
			}
			if got := len(p.Items); got != len(tt.want) {
				t.Errorf("plan has %d items, want %d: %v", got, len(tt.want), p.Items)
			}
			checkOrder(t, p.Items)

			// POST /api/config/plan: the reload applies exactly the planned items.
			f.write(t, tt.file)
			wantResult := OutcomeApplied
			if p.Changes() == 0 {
				wantResult = OutcomeUnchanged
			}
			res := f.reload(t, wantResult)
			if !reflect.DeepEqual(res.Plan.Items, p.Items) {
				t.Errorf("reload applied\n%v\nbut the plan said\n%v", res.Plan.Items, p.Items)
			}
			again, err := f.r.PlanBytes([]byte(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if again.Changes() != 0 {
				t.Errorf("after applying, the plan still has changes: %s", again.Summary())
			}
			if tt.name == "prune" {
				got := names(snap(t, f.store).Connections, connName)
				if !reflect.DeepEqual(got, []string{"pg", "adhoc"}) && !reflect.DeepEqual(got, []string{"adhoc", "pg"}) {
					t.Errorf("connections after prune = %v, want pg and the API-made adhoc", got)
				}
			}
		})
	}
}

func findItem(p *Plan, kind, name string) (Item, bool) {
	for _, it := range p.Items {
		if it.Kind == kind && it.Name == name {
			return it, true
		}
	}
	return Item{}, false
}

// checkOrder asserts dependency order: creates, updates and adopts in
// settings → schedule order, then prunes in the reverse order.
func checkOrder(tb testing.TB, items []Item) {
	tb.Helper()
	last, pruning := -1, false
	for i, it := range items {
		rank, ok := kindRank[it.Kind]
		if !ok {
			tb.Fatalf("item %d: unknown kind %q", i, it.Kind)
		}
		if it.Action == Prune {
			if !pruning {
				pruning, last = true, len(kindRank)
			}
			if rank > last {
				tb.Errorf("item %d (%s %s %q) prunes out of reverse dependency order: %v", i, it.Action, it.Kind, it.Name, items)
				return
			}
		} else {
			if pruning {
				tb.Errorf("item %d (%s %s %q) comes after a prune: %v", i, it.Action, it.Kind, it.Name, items)
				return
			}
			if rank < last {
				tb.Errorf("item %d (%s %s %q) out of dependency order: %v", i, it.Action, it.Kind, it.Name, items)
				return
			}
		}
		last = rank
	}
}

func checkGolden(tb testing.TB, name string, items []Item) {
	tb.Helper()
	got, err := json.MarshalIndent(items, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "plans", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read golden (run go test -update to create it): %v", err)
	}
	if string(got) != string(want) {
		tb.Errorf("plan differs from %s (run go test -update if intended)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestPlanDependencyOrder(t *testing.T) {
	f := newFixture(t, nil, "")
	f.apply(t, extraYAML)
	// Every record renamed: one create and one prune of every kind, settings included.
	renamed := strings.NewReplacer(
		"pg_dump_path: /usr/bin/pg_dump", "mysqldump_path: /usr/bin/mysqldump",
		"name: local\n", "name: local2\n",
		"name: pg\n", "name: pg2\n", "connection: pg\n", "connection: pg2\n",
		"name: hook\n", "name: hook3\n", "[hook]", "[hook3]",
		"name: nightly\n", "name: nightly2\n",
	).Replace(baseYAML)
	p, err := f.r.PlanBytes([]byte(renamed))
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "order", p.Items)
	checkOrder(t, p.Items)
	for kind := range kindRank {
		if n := countKind(p, kind, Create); n != 1 {
			t.Errorf("%d creates of %s, want 1", n, kind)
		}
		if n := countKind(p, kind, Prune); n < 1 {
			t.Errorf("no prune of %s", kind)
		}
	}
}

func countKind(p *Plan, kind string, a Action) int {
	n := 0
	for _, it := range p.Items {
		if it.Kind == kind && it.Action == a {
			n++
		}
	}
	return n
}

// ids maps kind/name to the record ID of every reconciled record.
func ids(tb testing.TB, s *state.Store) map[string]string {
	tb.Helper()
	sn := snap(tb, s)
	m := map[string]string{}
	for _, r := range sn.Providers {
		m["storage/"+r.Name] = r.ID
	}
	for _, r := range sn.Connections {
		m["connection/"+r.Name] = r.ID
	}
	for _, r := range sn.Databases {
		m["database/"+r.ConnectionID+"/"+r.DBName] = r.ID
	}
	for _, r := range sn.Notifications {
		m["notification/"+r.Name] = r.ID
	}
	for _, r := range sn.Schedules {
		m["schedule/"+r.Name] = r.ID
		m["schedule/"+r.Name+"->connection"] = r.ConnectionID
		m["schedule/"+r.Name+"->database"] = r.DatabaseID
		m["schedule/"+r.Name+"->storage"] = r.StorageProviderID
		m["schedule/"+r.Name+"->notifications"] = strings.Join(r.NotifTargetIDs, ",")
	}
	return m
}

func TestDerivedIDsStableAcrossDataDirs(t *testing.T) {
	var got []map[string]string
	for range 2 {
		s := dirStore(t, t.TempDir())
		f := newFixture(t, s, extraYAML)
		f.reload(t, "applied")
		got = append(got, ids(t, s))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if len(got[0]) != 18 { // 10 records and 8 references
		t.Fatalf("got %d IDs, want 18: %v", len(got[0]), got[0])
	}
	if !reflect.DeepEqual(got[0], got[1]) {
		t.Fatalf("IDs differ between fresh data dirs:\n%v\n%v", got[0], got[1])
	}
	want := map[string]string{
		"storage/local":            state.DerivedID(state.KindProvider, "local"),
		"connection/pg":            state.DerivedID(state.KindConnection, "pg"),
		"notification/hook":        state.DerivedID(state.KindNotification, "hook"),
		"schedule/nightly":         state.DerivedID(state.KindSchedule, "nightly"),
		"schedule/weekly->storage": state.DerivedID(state.KindProvider, "scratch"),
		"schedule/nightly->database": state.DerivedID(state.KindDatabase,
			state.DerivedID(state.KindConnection, "pg")+"/app"),
	}
	for k, v := range want {
		if got[0][k] != v {
			t.Errorf("%s = %q, want %q (derived from kind + name)", k, got[0][k], v)
		}
	}
}

func TestAPIRecordsSurviveReloads(t *testing.T) {
	f := newFixture(t, nil, baseYAML)
	adhocConnection(t, f.store)
	f.reload(t, "applied")
	f.apply(t, extraYAML)
	f.apply(t, baseYAML)
	f.reload(t, "unchanged")
	sn := snap(t, f.store)
	var found bool
	for _, c := range sn.Connections {
		if c.Name == "adhoc" {
			found = true
			if c.ManagedBy != state.ManagedByAPI || c.ID != "conn_adhoc00000000000001" {
				t.Errorf("adhoc changed: %+v", c.Meta)
			}
		}
	}
	if !found {
		t.Fatal("the API-made connection was pruned by a reload")
	}
}

func TestAdoptKeepsIDsAndBackups(t *testing.T) {
	f := newFixture(t, nil, baseYAML)
	seedAPI(t, f.store)
	backupID := "bck_000000000000000000001"
	mustUpdate(t, f.store, func(tx *state.Tx) error {
		return state.Put(tx, state.Backup{
			ID: backupID, ScheduleID: apiSchedID, ConnectionID: apiConnID,
			DatabaseID: databaseID(apiConnID, "app"), Status: state.StatusSuccess, CreatedAt: t0,
		})
	})
	f.reload(t, "applied")

	sch := schedule(t, f.store, "nightly")
	if sch.ID != apiSchedID || sch.ManagedBy != state.ManagedByFile {
		t.Fatalf("adopted schedule = %+v, want ID %s managed by file", sch.Meta, apiSchedID)
	}
	if !sch.CreatedAt.Equal(t0) {
		t.Errorf("adopt changed CreatedAt to %v", sch.CreatedAt)
	}
	if sch.ConnectionID != apiConnID || sch.CronExpr != "0 2 * * *" {
		t.Errorf("adopted schedule refers to %s with %q, want the adopted connection and the file's cron", sch.ConnectionID, sch.CronExpr)
	}
	for _, c := range snap(t, f.store).Connections {
		if c.ID != apiConnID || c.ManagedBy != state.ManagedByFile || c.Host != "db.example.com" {
			t.Errorf("connection after adopt = %+v %+v", c.Meta, c.ConnectionSpec)
		}
	}
	err := f.store.View(func(tx *state.Tx) error {
		bs, err := tx.ListBackups(state.BackupQuery{ScheduleID: sch.ID})
		if err != nil {
			return err
		}
		if len(bs) != 1 || bs[0].ID != backupID {
			t.Errorf("backups of the adopted schedule = %v, want %s", bs, backupID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Adopted records stay adopted: the next reload changes nothing.
	f.reload(t, "unchanged")
}
