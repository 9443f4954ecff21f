package engine

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/engine/notify"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

// TestMain stops the test database servers, then fails the run if a test
// left a goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(dbtest.Run(m))
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness is the engine tests' one fixture: a real store and engine in a
// temp dir (or a data dir to reopen, as a daemon restarting after a crash),
// with helpers to add providers, connections and databases. The databases
// they back up come from dbtest servers, filled by newFixture or bulkDB.
type harness struct {
	t     *testing.T
	dir   string
	store *state.Store
	eng   *Engine
	reg   *prometheus.Registry
	logs  *syncBuffer
	keys  *crypt.Keyring
	opts  Options
	sopts state.Options // the store's options (Dir and MasterKey are set by newHarness)
	logTo io.Writer     // where the engine's log goes besides logs (nil: nowhere)
}

// harnessKey is the master key of every harness's store.
func harnessKey() []byte { return bytes.Repeat([]byte{7}, 32) }

type harnessOpt func(*harness)

// withKeyring makes the engine encrypt with kr.
func withKeyring(kr *crypt.Keyring) harnessOpt { return func(h *harness) { h.keys = kr } }

// withOptions edits the engine options before New.
func withOptions(f func(*Options)) harnessOpt { return func(h *harness) { f(&h.opts) } }

// withDir opens the store in dir (made by an earlier harness, a seeded store
// or a killed daemon) instead of a new temp dir.
func withDir(dir string) harnessOpt { return func(h *harness) { h.dir = dir } }

// withLogTo copies the engine's log to w (a child daemon's stderr).
func withLogTo(w io.Writer) harnessOpt { return func(h *harness) { h.logTo = w } }

// withStoreOptions edits the store options before Open.
func withStoreOptions(f func(*state.Options)) harnessOpt { return func(h *harness) { f(&h.sopts) } }

// newHarness opens a store in a temp dir and starts an engine on it.
func newHarness(t *testing.T, opts ...harnessOpt) *harness {
	t.Helper()
	h := &harness{t: t, reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	for _, o := range opts {
		o(h)
	}
	if h.dir == "" {
		h.dir = t.TempDir()
	}
	h.sopts.Dir, h.sopts.MasterKey = h.dir, harnessKey()
	st, err := state.Open(h.sopts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	h.store = st
	var out io.Writer = h.logs
	if h.logTo != nil {
		out = io.MultiWriter(h.logs, h.logTo)
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.opts.Store, h.opts.Logger, h.opts.Registerer = st, log, h.reg
	h.opts.Keys = func() (*crypt.Keyring, error) { return h.keys, nil }
	if h.opts.Notifier == nil {
		h.opts.Notifier = notify.New(notify.Options{Logger: log, MaxAttempts: 1})
	}
	eng, err := New(h.opts)
	if err != nil {
		t.Fatalf("new engine: %v", err)
	}
	h.eng = eng
	if err := eng.Start(context.Background()); err != nil {
		t.Fatalf("start engine: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = h.eng.Shutdown(ctx)
		if err := h.store.Close(); err != nil { // Badger left open: its goroutines leak
			t.Errorf("close store: %v", err)
		}
	})
	return h
}

// put stores a record.
func put[T state.Record](h *harness, rec T) T {
	h.t.Helper()
	if err := h.store.Update(func(tx *state.Tx) error { return state.Put(tx, rec) }); err != nil {
		h.t.Fatalf("put %T: %v", rec, err)
	}
	return rec
}

// addLocalProvider adds a default local provider under the temp dir.
func (h *harness) addLocalProvider(name string) state.Provider {
	h.t.Helper()
	now := time.Now().UTC()
	return put(h, state.Provider{
		Meta:         state.Meta{ID: state.NewID(state.KindProvider), ManagedBy: state.ManagedByAPI, CreatedAt: now, UpdatedAt: now},
		ProviderSpec: state.ProviderSpec{Name: name, ProviderType: "local", Path: h.t.TempDir(), IsDefault: true},
	})
}

// addS3Provider adds a default provider for an S3 test server.
func (h *harness) addS3Provider(name string, c storage.Config) state.Provider {
	h.t.Helper()
	now := time.Now().UTC()
	return put(h, state.Provider{
		Meta: state.Meta{ID: state.NewID(state.KindProvider), ManagedBy: state.ManagedByAPI, CreatedAt: now, UpdatedAt: now},
		ProviderSpec: state.ProviderSpec{Name: name, ProviderType: orS3(c.Type), Endpoint: c.Endpoint, Region: c.Region,
			Bucket: c.Bucket, Prefix: c.Prefix, AccessKey: c.AccessKey, SecretKey: state.Secret(c.SecretKey),
			PathStyle: c.PathStyle, IsDefault: true},
	})
}

func orS3(t string) string {
	if t == "" {
		return "s3"
	}
	return t
}

// addConnection adds a connection to a test server under db type dbType
// ("" = the server's own type).
func (h *harness) addConnection(name string, srv *dbtest.Server, dbType string) state.Connection {
	h.t.Helper()
	if dbType == "" {
		dbType = srv.DBType
	}
	now := time.Now().UTC()
	return put(h, state.Connection{
		Meta: state.Meta{ID: state.NewID(state.KindConnection), ManagedBy: state.ManagedByAPI, CreatedAt: now, UpdatedAt: now},
		ConnectionSpec: state.ConnectionSpec{Name: name, DBType: dbType, Host: srv.Host, Port: srv.Port,
			Username: srv.User, Password: state.Secret(srv.Password), SSLMode: "disable"},
	})
}

// addDatabase adds a selected database of a connection.
func (h *harness) addDatabase(c state.Connection, name string) state.Database {
	h.t.Helper()
	return put(h, state.Database{
		ID: state.DerivedID(state.KindDatabase, c.ID+"/"+name), ConnectionID: c.ID, DBName: name,
		IsSelected: true, ManagedBy: state.ManagedByAPI, CreatedAt: time.Now().UTC(),
	})
}

// setSetting sets one settings value.
func (h *harness) setSetting(k, v string) {
	h.t.Helper()
	err := h.store.Update(func(tx *state.Tx) error {
		s, err := tx.Settings()
		if err != nil {
			return err
		}
		s.Values[k] = v
		return tx.PutSettings(s)
	})
	if err != nil {
		h.t.Fatalf("set %s: %v", k, err)
	}
}

// backup reads a backup record.
func (h *harness) backup(id string) state.Backup {
	h.t.Helper()
	b, err := h.eng.getBackup(id)
	if err != nil {
		h.t.Fatalf("get backup %s: %v", id, err)
	}
	return b
}

// waitBackup waits until a backup left queued/running (and verifying).
func (h *harness) waitBackup(id string, timeout time.Duration) state.Backup {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b := h.backup(id)
		done := b.Status == state.StatusSuccess || b.Status == state.StatusFailed
		if done && b.VerifyStatus != state.VerifyVerifying {
			return b
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("backup %s still %s/%s after %s; log:\n%s", id, b.Status, b.VerifyStatus, timeout, b.LogOutput)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runBackup starts a one-shot backup and waits for its outcome.
func (h *harness) runBackup(c state.Connection, db state.Database, encrypt *bool) state.Backup {
	h.t.Helper()
	b, err := h.eng.StartBackup(context.Background(), BackupRequest{ConnectionID: c.ID, DatabaseID: db.ID, Encrypt: encrypt})
	if err != nil {
		h.t.Fatalf("start backup: %v", err)
	}
	return h.waitBackup(b.ID, 2*time.Minute)
}

// fixture is a database with several tables, thousands of rows, unicode and
// one multi-MB value; dumps of it must contain marker and big verbatim.
type fixture struct {
	srv    *dbtest.Server
	db     string
	marker string
	big    string
	tables map[string]int64
}

const unicodeText = "Zoë Ωmega 日本語 🚀 naïve café"

// bigValue is a deterministic text of about n bytes of words and unicode,
// with no character a dump format would escape.
func bigValue(n int) string {
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "ledger", "invoice", "Ωmega", "日本語", "café"}
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
		b.WriteByte(' ')
	}
	return b.String()
}

// newFixture creates the fixture database on srv.
func newFixture(t *testing.T, srv *dbtest.Server) *fixture {
	t.Helper()
	f := &fixture{srv: srv, db: srv.CreateDB(t, "roundtrip"), marker: "marker " + unicodeText + " 42", big: bigValue(3 << 20)}
	ctx := testCtx(t)
	var ins string
	if srv.DBType == dbclient.PostgreSQL {
		srv.Exec(t, f.db, `
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text, created_at timestamptz NOT NULL);
INSERT INTO customers SELECT g, '`+unicodeText+` #' || g, 'c' || g || '@example.com',
  timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute' FROM generate_series(1, 3000) g;
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL REFERENCES customers, amount numeric(12,2) NOT NULL, note text);
INSERT INTO orders SELECT g, 1 + g % 3000, g * 1.25, md5(g::text) FROM generate_series(1, 12000) g;
CREATE TABLE documents (id int PRIMARY KEY, title text NOT NULL, body text NOT NULL);`)
		ins = "INSERT INTO documents VALUES ($1, $2, $3)"
		f.tables = map[string]int64{"public.customers": 3000, "public.orders": 12000, "public.documents": 1}
	} else {
		srv.Exec(t, f.db, `
CREATE TABLE customers (id int PRIMARY KEY, name varchar(200) NOT NULL, email varchar(200), created_at datetime NOT NULL) DEFAULT CHARSET=utf8mb4;
INSERT INTO customers SELECT seq, CONCAT('`+unicodeText+` #', seq), CONCAT('c', seq, '@example.com'),
  '2024-01-01' + INTERVAL seq MINUTE FROM seq_1_to_3000;
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, amount decimal(12,2) NOT NULL, note varchar(64),
  FOREIGN KEY (customer_id) REFERENCES customers(id)) DEFAULT CHARSET=utf8mb4;
INSERT INTO orders SELECT seq, 1 + seq % 3000, seq * 1.25, MD5(seq) FROM seq_1_to_12000;
CREATE TABLE documents (id int PRIMARY KEY, title varchar(200) NOT NULL, body longtext NOT NULL) DEFAULT CHARSET=utf8mb4;`)
		ins = "INSERT INTO documents VALUES (?, ?, ?)"
		f.tables = map[string]int64{"customers": 3000, "orders": 12000, "documents": 1}
	}
	if _, err := srv.DB(t, f.db).ExecContext(ctx, ins, 1, f.marker, f.big); err != nil {
		t.Fatalf("insert big value: %v", err)
	}
	return f
}

// bulkDB creates a PostgreSQL database whose plain dump is about mb MB of
// poorly compressible text in one table (big enough for multipart uploads).
func bulkDB(t *testing.T, srv *dbtest.Server, mb int) string {
	t.Helper()
	db := srv.CreateDB(t, "bulk")
	rows := mb * 1000 * 1000 / 140
	srv.Exec(t, db, `CREATE TABLE bulk (id int PRIMARY KEY, a text, b text, c text, d text);
INSERT INTO bulk SELECT g, md5(g::text), md5((g * 7)::text), md5((g * 13)::text), md5((g * 31)::text)
FROM generate_series(1, `+strconv.Itoa(rows)+`) g;`)
	return db
}
