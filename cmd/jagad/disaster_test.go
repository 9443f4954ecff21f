package main

import (
	"bytes"
	"context"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/state"
)

func TestMain(m *testing.M) {
	if os.Getenv(shutdownChildEnv) != "" {
		os.Exit(runShutdownChild())
	}
	dbtest.Main(m)
}

// mapEnv is an environment made of a map.
func mapEnv(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// drBackups makes backups with a real engine into a local directory: an
// encrypted PostgreSQL one and a plain MariaDB one.
type drBackups struct {
	dir      string
	key      string
	pg, my   *dbtest.Server
	pgDB     string
	myDB     string
	pgSum    map[string]string
	mySum    map[string]string
	pgBackup state.Backup
	myBackup state.Backup
}

func newDRBackups(t *testing.T) *drBackups {
	t.Helper()
	f := &drBackups{dir: t.TempDir(), pg: dbtest.Postgres(t), my: dbtest.MariaDB(t)}
	var err error
	if f.key, err = crypt.GenerateKey(); err != nil {
		t.Fatal(err)
	}
	f.pgDB = f.pg.CreateDB(t, "dr")
	f.pg.Exec(t, f.pgDB, `CREATE TABLE items (id int PRIMARY KEY, v text, n numeric);
INSERT INTO items SELECT g, 'Zoë 日本語 ' || g, CASE WHEN g % 5 = 0 THEN NULL ELSE g * 1.5 END FROM generate_series(1, 500) g;`)
	f.myDB = f.my.CreateDB(t, "dr")
	f.my.Exec(t, f.myDB, `CREATE TABLE items (id int PRIMARY KEY, v varchar(64), n decimal(10,2)) DEFAULT CHARSET=utf8mb4;
INSERT INTO items SELECT seq, CONCAT('Zoë 日本語 ', seq), IF(seq % 5 = 0, NULL, seq * 1.5) FROM seq_1_to_500;`)
	f.pgSum, f.mySum = f.pg.Checksum(t, f.pgDB), f.my.Checksum(t, f.myDB)

	store, err := state.Open(state.Options{Dir: t.TempDir(), MasterKey: bytes.Repeat([]byte{9}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	kr, err := crypt.NewKeyring("k1", map[string]string{"k1": f.key}, "")
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Options{Store: store, Keys: func() (*crypt.Keyring, error) { return kr, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer eng.Shutdown(context.Background())
	now := time.Now().UTC()
	drPut(t, store, state.Provider{Meta: state.Meta{ID: "prov_local", CreatedAt: now, UpdatedAt: now},
		ProviderSpec: state.ProviderSpec{Name: "local", ProviderType: "local", Path: f.dir, IsDefault: true}})
	f.pgBackup = drBackup(t, eng, store, f.pg, f.pgDB, true)
	f.myBackup = drBackup(t, eng, store, f.my, f.myDB, false)
	return f
}

func drPut[T state.Record](t *testing.T, store *state.Store, rec T) {
	t.Helper()
	if err := store.Update(func(tx *state.Tx) error { return state.Put(tx, rec) }); err != nil {
		t.Fatal(err)
	}
}

func drBackup(t *testing.T, eng *engine.Engine, store *state.Store, srv *dbtest.Server, db string, enc bool) state.Backup {
	t.Helper()
	now := time.Now().UTC()
	c := state.Connection{Meta: state.Meta{ID: state.NewID(state.KindConnection), CreatedAt: now, UpdatedAt: now},
		ConnectionSpec: state.ConnectionSpec{Name: srv.DBType, DBType: srv.DBType, Host: srv.Host, Port: srv.Port,
			Username: srv.User, Password: state.Secret(srv.Password), SSLMode: "disable"}}
	d := state.Database{ID: state.DerivedID(state.KindDatabase, c.ID+"/"+db), ConnectionID: c.ID, DBName: db, IsSelected: true, CreatedAt: now}
	drPut(t, store, c)
	drPut(t, store, d)
	b, err := eng.StartBackup(context.Background(), engine.BackupRequest{ConnectionID: c.ID, DatabaseID: d.ID, Encrypt: &enc})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for b.Status != state.StatusSuccess {
		if b.Status == state.StatusFailed || time.Now().After(deadline) {
			t.Fatalf("backup %s:\n%s", b.Status, b.LogOutput)
		}
		time.Sleep(20 * time.Millisecond)
		_ = store.View(func(tx *state.Tx) (err error) {
			b, err = state.Get[state.Backup](tx, b.ID)
			return err
		})
	}
	return b
}

// dbURL is a URL of srv's database db without the password.
func dbURL(scheme string, srv *dbtest.Server, db string) string {
	u := url.URL{Scheme: scheme, User: url.User(srv.User), Host: srv.Host + ":" + strconv.Itoa(srv.Port), Path: "/" + db}
	if scheme == "postgres" {
		u.RawQuery = "sslmode=disable"
	} else {
		u.RawQuery = "ssl-mode=disable"
	}
	return u.String()
}

func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errOut, mapEnv(env))
	return code, out.String(), errOut.String()
}

// TestDisasterRecoveryCLI restores backups with no daemon and no data dir,
// and rebuilds the catalog into an empty data dir.
func TestDisasterRecoveryCLI(t *testing.T) {
	f := newDRBackups(t)
	local := []string{"--storage-type", "local", "--path", f.dir}

	t.Run("restore postgres", func(t *testing.T) {
		f.pg.DropDB(t, f.pgDB) // the disaster
		keyFile := filepath.Join(t.TempDir(), "key")
		if err := os.WriteFile(keyFile, []byte(f.key+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		env := map[string]string{"PGPASSWORD": f.pg.Password}
		args := append([]string{"restore"}, local...)
		args = append(args, "--key-file", keyFile, f.pgBackup.StoragePath+".manifest.json", "--to", dbURL("postgres", f.pg, f.pgDB))
		code, out, errOut := runCLI(t, env, args...)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, errOut)
		}
		if !strings.Contains(out, "restored backup "+f.pgBackup.ID) || !strings.Contains(errOut, "VERIFY: object intact") ||
			!strings.Contains(errOut, "DECRYPT: OK") {
			t.Errorf("stdout %q\nstderr:\n%s", out, errOut)
		}
		if got := f.pg.Checksum(t, f.pgDB); !maps.Equal(got, f.pgSum) {
			t.Errorf("restored tables %v, want %v", got, f.pgSum)
		}
		if strings.Contains(errOut, f.pg.Password) || strings.Contains(errOut, f.key) {
			t.Error("a secret reached the output")
		}
	})

	t.Run("restore without the key", func(t *testing.T) {
		for _, extra := range [][]string{nil, {"--key-id", "k2"}} {
			env := map[string]string{"PGPASSWORD": f.pg.Password}
			if extra != nil {
				env[crypt.EnvKey] = f.key
			}
			args := append(append([]string{"restore"}, local...), extra...)
			args = append(args, f.pgBackup.StoragePath, "--to", dbURL("postgres", f.pg, f.pgDB+"_nokey"))
			code, _, errOut := runCLI(t, env, args...)
			if code != 1 || !strings.Contains(errOut, `"k1"`) {
				t.Errorf("%v: exit %d, stderr:\n%s", extra, code, errOut)
			}
		}
	})

	t.Run("restore mariadb into a new database", func(t *testing.T) {
		target := f.myDB + "_dr"
		t.Cleanup(func() { f.my.DropDB(t, target) })
		env := map[string]string{"MYSQL_PWD": f.my.Password}
		args := []string{"restore", f.myBackup.StoragePath, "--to", dbURL("mysql", f.my, target)} // flags after the key
		code, out, errOut := runCLI(t, env, append(args, local...)...)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, errOut)
		}
		if got := f.my.Checksum(t, target); !maps.Equal(got, f.mySum) || !strings.Contains(out, target) {
			t.Errorf("restored tables %v, want %v (stdout %q)", got, f.mySum, out)
		}
	})

	t.Run("catalog rebuild and list", func(t *testing.T) {
		dataDir := filepath.Join(t.TempDir(), "data")
		env := map[string]string{"JAGAD_MASTER_KEY": "correct horse battery staple"}
		args := append([]string{"catalog", "rebuild", "--data-dir", dataDir, "--provider-name", "disk"}, local...)
		code, out, errOut := runCLI(t, env, args...)
		if code != 0 || !strings.Contains(out, "2 backups added") {
			t.Fatalf("rebuild: exit %d\n%s\n%s", code, out, errOut)
		}
		key, _, err := state.LoadOrCreateMasterKey(dataDir, env["JAGAD_MASTER_KEY"])
		if err != nil {
			t.Fatal(err)
		}
		store, err := state.Open(state.Options{Dir: dataDir, MasterKey: key})
		if err != nil {
			t.Fatal(err)
		}
		var backups []state.Backup
		var provs []state.Provider
		err = store.View(func(tx *state.Tx) error {
			if backups, err = tx.ListBackups(state.BackupQuery{}); err != nil {
				return err
			}
			provs, err = state.List[state.Provider](tx)
			return err
		})
		store.Close()
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, b := range backups {
			ids = append(ids, b.ID)
			if b.Status != state.StatusSuccess || len(provs) != 1 || b.StorageProviderID != provs[0].ID {
				t.Errorf("rebuilt backup %+v (providers %+v)", b, provs)
			}
		}
		if want := []string{f.pgBackup.ID, f.myBackup.ID}; !slices.Equal(slices.Sorted(slices.Values(ids)), slices.Sorted(slices.Values(want))) {
			t.Errorf("rebuilt %v, want %v", ids, want)
		}
		if len(provs) != 1 || provs[0].Name != "disk" || provs[0].Path != f.dir {
			t.Errorf("providers %+v", provs)
		}

		code, out, errOut = runCLI(t, nil, append([]string{"catalog", "list"}, local...)...)
		if code != 0 || !strings.Contains(out, f.pgBackup.ID) || !strings.Contains(out, f.myBackup.ID) || !strings.Contains(out, "k1") {
			t.Errorf("list: exit %d\n%s\n%s", code, out, errOut)
		}
	})

	t.Run("usage errors", func(t *testing.T) {
		for _, args := range [][]string{
			{"restore", "x"},
			{"restore", "--to", "postgres://u@h/db", "x"},
			{"restore", "--storage-type", "local", "--path", f.dir, "--to", "ftp://h/db", "x"},
			{"catalog"},
			{"catalog", "rebuild", "--storage-type", "local", "--path", f.dir},
		} {
			if code, _, errOut := runCLI(t, nil, args...); code != 2 || errOut == "" {
				t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
			}
		}
	})
}
