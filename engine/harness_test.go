package engine

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/engine/notify"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

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

// harness is a real store and engine in a temp dir.
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
}

type harnessOpt func(*harness)

// withKeyring makes the engine encrypt with kr.
func withKeyring(kr *crypt.Keyring) harnessOpt { return func(h *harness) { h.keys = kr } }

// withOptions edits the engine options before New.
func withOptions(f func(*Options)) harnessOpt { return func(h *harness) { f(&h.opts) } }

// withStoreOptions edits the store options before Open.
func withStoreOptions(f func(*state.Options)) harnessOpt { return func(h *harness) { f(&h.sopts) } }

// newHarness opens a store in a temp dir and starts an engine on it.
func newHarness(t *testing.T, opts ...harnessOpt) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	for _, o := range opts {
		o(h)
	}
	key := bytes.Repeat([]byte{7}, 32)
	h.sopts.Dir, h.sopts.MasterKey = h.dir, key
	st, err := state.Open(h.sopts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	h.store = st
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
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
		_ = h.store.Close()
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
