package reconcile

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/state"
)

// TestPrunedConnectionTakesItsAPIDatabases: database records that discovery
// or the API added to a file-managed connection go when the file drops the
// connection, instead of pointing at a connection that no longer exists.
func TestPrunedConnectionTakesItsAPIDatabases(t *testing.T) {
	f := newFixture(t, nil, extraYAML)
	f.reload(t, "applied")
	myID := state.DerivedID(state.KindConnection, "my")
	discovered := databaseID(myID, "discovered")
	mustUpdate(t, f.store, func(tx *state.Tx) error {
		return state.Put(tx, state.Database{ID: discovered, ConnectionID: myID, DBName: "discovered", ManagedBy: state.ManagedByAPI, CreatedAt: t0})
	})

	res := f.apply(t, baseYAML) // drops connection "my" (and schedule weekly, storage scratch, hook2)
	var cascaded bool
	for _, it := range res.Plan.Items {
		if it.ID == discovered {
			cascaded = it.Action == Prune && it.Cascade == "connection my"
		}
	}
	if !cascaded {
		t.Errorf("plan does not prune the discovered database with its connection: %+v", res.Plan.Items)
	}
	for _, db := range snap(t, f.store).Databases {
		if db.ConnectionID == myID {
			t.Errorf("database %s/%s outlived its connection", "my", db.DBName)
		}
	}
}

// TestPruneRefusedWhileAPIScheduleUsesRecord: an API-made schedule that
// uses a file-managed connection, storage or notification keeps the file
// from pruning it; the reload fails, names the schedule, and changes nothing.
func TestPruneRefusedWhileAPIScheduleUsesRecord(t *testing.T) {
	f := newFixture(t, nil, extraYAML)
	f.reload(t, "applied")
	myID := state.DerivedID(state.KindConnection, "my")
	mustUpdate(t, f.store, func(tx *state.Tx) error {
		return state.Put(tx, state.Schedule{Meta: apiMeta(apiSchedID), ScheduleSpec: state.ScheduleSpec{
			Name: "adhoc-shop", ConnectionID: myID, DatabaseID: databaseID(myID, "shop"), BackupType: "full",
			CronExpr: "0 4 * * *", Enabled: true,
			StorageProviderID: state.DerivedID(state.KindProvider, "scratch"),
			NotifTargetIDs:    []string{state.DerivedID(state.KindNotification, "hook2")},
		}})
	})
	before := snap(t, f.store)

	f.write(t, baseYAML)
	res := f.reload(t, "failed")
	msg := res.Err.Error()
	for _, want := range []string{`schedule "adhoc-shop" (made through the API) uses connection "my"`,
		`database "my/shop"`, `storage provider "scratch"`, `notification "hook2"`, "delete or change that schedule first"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
	if after := snap(t, f.store); len(after.Connections) != len(before.Connections) || len(after.Schedules) != len(before.Schedules) {
		t.Errorf("a refused reload changed the store: %d→%d connections, %d→%d schedules",
			len(before.Connections), len(after.Connections), len(before.Schedules), len(after.Schedules))
	}

	// Once the schedule is gone, the same file applies.
	mustUpdate(t, f.store, func(tx *state.Tx) error { return state.Delete[state.Schedule](tx, apiSchedID) })
	f.reload(t, "applied")
}

// TestProcessKeyEncryptsFileSchedules: a key from JAGAD_ENCRYPTION_KEY (and
// none in the file) makes the file's schedules encrypted by default, as a
// key in the file does; without any key they are not; an explicit false wins.
func TestProcessKeyEncryptsFileSchedules(t *testing.T) {
	explicit := strings.Replace(extraYAML, "    storage: scratch\n", "    storage: scratch\n    encryption_enabled: false\n", 1)
	for _, tc := range []struct {
		name       string
		processKey bool
		file       string
		want       map[string]bool
	}{
		{"process key", true, extraYAML, map[string]bool{"nightly": true, "weekly": true}},
		{"no key", false, extraYAML, map[string]bool{"nightly": false, "weekly": false}},
		{"explicit false", true, explicit, map[string]bool{"nightly": true, "weekly": false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "jagad.yaml")
			writeFile(t, path, tc.file)
			store := memStore(t)
			r, err := New(Options{Path: path, Store: store, Now: newClock().Now, Env: testEnv, ProcessKey: tc.processKey})
			if err != nil {
				t.Fatal(err)
			}
			if res := r.Reload(context.Background(), "test", false); res.Err != nil {
				t.Fatal(res.Err)
			}
			for name, want := range tc.want {
				if got := schedule(t, store, name).EncryptionEnabled; got != want {
					t.Errorf("%s: encryption_enabled = %t, want %t", name, got, want)
				}
			}
		})
	}
}

// TestRestartWithBadFileKeepsLastGood: a daemon restarted on a file that
// has since become invalid runs on the last good file stored in the data
// dir, so its encryption keys and metrics token are not lost with it.
func TestRestartWithBadFileKeepsLastGood(t *testing.T) {
	good := strings.Replace(baseYAML, "version: 1\n", "version: 1\nserver:\n  metrics_token: tok-7781\nencryption:\n  active_key: k1\n  keys:\n    - id: k1\n      key: passphrase-for-k1\n", 1)
	store := memStore(t)
	f := newFixtureAt(t, store, filepath.Join(t.TempDir(), "jagad.yaml"), nil)
	f.apply(t, good)

	f.write(t, "version: 1\nconnections: [\n") // broken while the daemon is down
	var applied []*config.File
	r, err := New(Options{Path: f.path, Store: store, Now: newClock().Now, Env: testEnv,
		OnApplied: func(cf *config.File) { applied = append(applied, cf) }})
	if err != nil {
		t.Fatal(err)
	}
	if res := r.Reload(context.Background(), "start", false); res.Result != "failed" {
		t.Fatalf("reload of a broken file: %q", res.Result)
	}
	lg := r.LastGood()
	if lg == nil || lg.Server.MetricsToken != "tok-7781" || lg.Encryption == nil || len(lg.Encryption.Keys) != 1 {
		t.Fatalf("last good after a restart on a broken file: %+v", lg)
	}
	if len(applied) != 1 || applied[0] != lg {
		t.Fatalf("OnApplied called %d times, want once with the restored file", len(applied))
	}
	// A second failure does not restore again; a fixed file takes over.
	r.Reload(context.Background(), "test", false)
	if len(applied) != 1 {
		t.Fatalf("OnApplied called again on a second failure")
	}
	f.write(t, baseYAML)
	if res := r.Reload(context.Background(), "test", false); res.Err != nil {
		t.Fatal(res.Err)
	}
	if r.LastGood().Encryption != nil {
		t.Fatal("the fixed file did not replace the restored one")
	}
}

// TestFileDefaultProviderWins: a default storage provider declared in the
// file takes the flag from an API-made one, so backups of schedules without
// a storage go where the file says.
func TestFileDefaultProviderWins(t *testing.T) {
	f := newFixture(t, nil, baseYAML) // declares "local" with is_default: true
	api := state.Provider{Meta: apiMeta("prov_api0000000000000009"), ProviderSpec: state.ProviderSpec{
		Name: "api-s3", ProviderType: "local", Path: "/srv/api", IsDefault: true}}
	mustUpdate(t, f.store, func(tx *state.Tx) error { return state.Put(tx, api) })

	res := f.reload(t, "applied")
	var flagged bool
	for _, it := range res.Plan.Items {
		if it.Name == "api-s3" {
			flagged = it.Action == Update && len(it.Fields) == 1 && it.Fields[0] == "is_default"
		}
	}
	if !flagged {
		t.Errorf("plan does not take the default flag from the API provider: %+v", res.Plan.Items)
	}
	defaults := 0
	for _, p := range snap(t, f.store).Providers {
		if p.IsDefault {
			defaults++
			if p.Name != "local" {
				t.Errorf("default provider is %s, want the file's local", p.Name)
			}
		}
		if p.Name == "api-s3" && p.ManagedBy != state.ManagedByAPI {
			t.Errorf("the API provider changed owner: %+v", p.Meta)
		}
	}
	if defaults != 1 {
		t.Errorf("%d default providers, want 1", defaults)
	}
	f.reload(t, "unchanged")
}
