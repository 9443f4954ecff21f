package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/reconcile"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"

	"github.com/jagad/jagad/state/logbuf"
)

const (
	testUser = "admin"
	testPass = "correct horse battery"
)

var testKey = bytes.Repeat([]byte{7}, 32)

// env is an API over a real store in a temp dir.
type env struct {
	tb     testing.TB
	dir    string
	store  *state.Store
	h      http.Handler
	eng    *fakeEngine
	cfg    *fakeConfig
	logs   *logbuf.Buffer
	token  string
	deps   Deps
	closed bool
}

type envOpt func(*Deps)

func openStore(tb testing.TB, dir string) *state.Store {
	tb.Helper()
	st, err := state.Open(state.Options{Dir: dir, MasterKey: testKey, GCInterval: -1})
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	return st
}

func newEnv(tb testing.TB, opts ...envOpt) *env {
	tb.Helper()
	e := &env{tb: tb, dir: tb.TempDir(), logs: &logbuf.Buffer{}}
	e.store = openStore(tb, e.dir)
	tb.Cleanup(func() {
		if !e.closed {
			_ = e.store.Close()
		}
	})
	e.eng = &fakeEngine{store: e.store}
	e.cfg = &fakeConfig{}
	e.deps = Deps{
		Store: e.store, Engine: e.eng, Config: e.cfg, DB: nil, Version: "1.2.3",
		Logger:    slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		AdminUser: testUser, AdminPass: testPass,
	}
	for _, o := range opts {
		o(&e.deps)
	}
	e.h = New(e.deps)
	e.token = e.login(testUser, testPass, "192.0.2.1:1234")
	return e
}

// restart closes the store and opens the API again on the same data dir.
func (e *env) restart(pass string) {
	e.tb.Helper()
	if err := e.store.Close(); err != nil {
		e.tb.Fatalf("close store: %v", err)
	}
	e.store = openStore(e.tb, e.dir)
	e.eng.store = e.store
	e.deps.Store = e.store
	e.deps.AdminPass = pass
	e.h = New(e.deps)
}

type req struct {
	method, path string
	body         any // string: raw; otherwise JSON-encoded; nil: no body
	token        string
	noAuth       bool
	cookie       bool
	header       map[string]string
	remote       string
}

func (e *env) send(r req) *httptest.ResponseRecorder {
	e.tb.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.tb.Fatalf("marshal body: %v", err)
		}
		body = bytes.NewReader(data)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.remote != "" {
		hr.RemoteAddr = r.remote
	}
	tok := r.token
	if tok == "" {
		tok = e.token
	}
	if !r.noAuth {
		if r.cookie {
			hr.AddCookie(&http.Cookie{Name: sessionCookie, Value: tok})
		} else {
			hr.Header.Set("Authorization", "Bearer "+tok)
		}
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, hr)
	return w
}

// call sends a request and checks the status.
func (e *env) call(method, path string, body any, want int) *httptest.ResponseRecorder {
	e.tb.Helper()
	w := e.send(req{method: method, path: path, body: body})
	if w.Code != want {
		e.tb.Fatalf("%s %s: status %d, want %d; body %s", method, path, w.Code, want, w.Body.String())
	}
	return w
}

func (e *env) login(user, pass, remote string) string {
	e.tb.Helper()
	w := e.send(req{method: "POST", path: "/api/auth/login", noAuth: true, remote: remote,
		body: map[string]string{"username": user, "password": pass}})
	if w.Code != http.StatusOK {
		e.tb.Fatalf("login: %d %s", w.Code, w.Body.String())
	}
	var out loginResponse
	mustJSON(e.tb, w, &out)
	return out.Token
}

func mustJSON(tb testing.TB, w *httptest.ResponseRecorder, v any) {
	tb.Helper()
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		tb.Fatalf("decode %q: %v", w.Body.String(), err)
	}
}

func errMsg(tb testing.TB, w *httptest.ResponseRecorder) string {
	tb.Helper()
	var e struct {
		Error string `json:"error"`
	}
	mustJSON(tb, w, &e)
	if e.Error == "" {
		tb.Fatalf("no error message in %s", w.Body.String())
	}
	return e.Error
}

// put stores records directly (file-managed fixtures, backups).
func put[T state.Record](tb testing.TB, st *state.Store, recs ...T) {
	tb.Helper()
	err := st.Update(func(tx *state.Tx) error {
		for _, r := range recs {
			if err := state.Put(tx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("put: %v", err)
	}
}

// fakeEngine stands in for the engine (another component's seam); it writes
// real records so the API reads them back through the store.
type fakeEngine struct {
	mu       sync.Mutex
	store    *state.Store
	calls    []string
	testErr  error
	leak     bool // test actions fail with the record's secrets in the message
	payload  []byte
	verifies int
	walSpans []engine.WALSpan // WALIncrementals' answer; WALSpanOf finds a base's in it
}

func (f *fakeEngine) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *fakeEngine) StartBackup(_ context.Context, r engine.BackupRequest) (state.Backup, error) {
	f.record("backup " + r.DatabaseID)
	now := time.Now().UTC()
	b := state.Backup{ID: state.NewID(state.KindBackup), ConnectionID: r.ConnectionID, DatabaseID: r.DatabaseID,
		ScheduleID: r.ScheduleID, BackupType: r.BackupType, Status: state.StatusRunning, StartedAt: &now,
		CreatedAt: now, NotifTargetIDs: r.NotifTargetIDs, NotifyOnSuccess: r.NotifyOnSuccess, NotifyOnFailure: r.NotifyOnFailure}
	return b, f.store.Update(func(tx *state.Tx) error { return state.Put(tx, b) })
}

func (f *fakeEngine) DeleteBackup(_ context.Context, id string) error {
	f.record("delete " + id)
	return f.store.Update(func(tx *state.Tx) error { return state.Delete[state.Backup](tx, id) })
}

func (f *fakeEngine) OpenBackup(_ context.Context, id string) (io.ReadCloser, int64, error) {
	f.record("open " + id)
	return io.NopCloser(bytes.NewReader(f.payload)), int64(len(f.payload)), nil
}

func (f *fakeEngine) Verify(_ context.Context, id string, deep bool) error {
	if deep {
		f.record("verify " + id)
	} else {
		f.record("verify quick " + id)
	}
	return nil
}

func (f *fakeEngine) Restore(_ context.Context, id string, r engine.RestoreRequest) (state.Restore, error) {
	f.record("restore " + id)
	now := time.Now().UTC()
	res := state.Restore{ID: state.NewID(state.KindRestore), BackupID: id, TargetConnection: r.TargetConnection,
		TargetDatabase: r.TargetDatabase, DropExisting: r.DropExisting, NoPrivileges: r.NoPrivileges,
		RestoreType: r.RestoreType, Status: state.StatusRunning, StartedAt: &now, CreatedAt: now, TargetDir: r.TargetDir}
	if r.Latest && r.Check {
		res.PointInTime = "latest"
	}
	return res, f.store.Update(func(tx *state.Tx) error { return state.Put(tx, res) })
}

func (f *fakeEngine) RunSchedule(_ context.Context, id string) error {
	f.record("run " + id)
	return nil
}

func (f *fakeEngine) TestStorage(_ context.Context, id string) error {
	f.record("test-storage " + id)
	if f.leak {
		var p state.Provider
		_ = f.store.View(func(tx *state.Tx) (err error) { p, err = state.Get[state.Provider](tx, id); return })
		return fmt.Errorf("bucket check with key %s failed", p.SecretKey.Reveal())
	}
	return f.testErr
}

func (f *fakeEngine) TestNotification(_ context.Context, id string) error {
	f.record("test-notif " + id)
	if f.leak {
		var n state.Notification
		_ = f.store.View(func(tx *state.Tx) (err error) { n, err = state.Get[state.Notification](tx, id); return })
		return fmt.Errorf("send with config %s failed", n.ConfigJSON.Reveal())
	}
	return f.testErr
}

func (f *fakeEngine) ScheduleInfo(string) (next, last *time.Time, status string) {
	n := time.Date(2030, 1, 1, 2, 0, 0, 0, time.UTC)
	return &n, nil, ""
}

// fakeConfig stands in for the reconciler.
type fakeConfig struct {
	mu      sync.Mutex
	planned []byte
	confirm bool
	err     error             // of PlanBytes
	reload  *reconcile.Result // of Reload; nil: unchanged
}

func (f *fakeConfig) Status() state.ConfigStatus {
	return state.ConfigStatus{Path: "/etc/jagad/jagad.yaml", Generation: 3, Healthy: true, Summary: "ok"}
}

func (f *fakeConfig) PlanBytes(doc []byte) (*reconcile.Plan, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.planned = doc
	if f.err != nil {
		return nil, f.err
	}
	if strings.Contains(string(doc), "schedules") {
		return &reconcile.Plan{Items: []reconcile.Item{
			{Action: reconcile.Create, Kind: "schedule", Name: "x"},
			{Action: reconcile.Update, Kind: "connection", Name: "y", Fields: []string{"host", "port"}},
		}}, nil
	}
	return &reconcile.Plan{Items: []reconcile.Item{}}, nil
}

func (f *fakeConfig) Reload(_ context.Context, _ string, confirm bool) reconcile.Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.confirm = confirm
	if f.reload != nil {
		return *f.reload
	}
	return reconcile.Result{Plan: &reconcile.Plan{Items: []reconcile.Item{}}, Result: reconcile.OutcomeUnchanged}
}

var _ = fault.Invalid

// VerifyArchive reports, for a connection with wal_archive, the gap a test
// planted in archiveGaps (the engine's own tests check real archives).
func (f *fakeEngine) VerifyArchive(_ context.Context, id string) (engine.ArchiveReport, error) {
	f.record("verify-archive " + id)
	var c state.Connection
	if err := f.store.View(func(tx *state.Tx) (err error) { c, err = state.Get[state.Connection](tx, id); return }); err != nil {
		return engine.ArchiveReport{}, err
	}
	if c.WalArchive == nil || !c.WalArchive.Enabled {
		return engine.ArchiveReport{}, fault.Invalid("connection " + c.Name + " archives nothing")
	}
	rep := engine.ArchiveReport{ConnectionID: c.ID, ConnectionName: c.Name, Archive: engine.ArchiveWAL, Mode: engine.VerifyDeep,
		Files: 3, Gaps: []string{"000000010000000000000002"}, Problems: []string{"gap: WAL segment 000000010000000000000002 is missing"}}
	return rep, nil
}

func (f *fakeEngine) WALSpanOf(_ context.Context, b state.Backup) (*engine.WALSpan, error) {
	for _, sp := range f.walSpans {
		if sp.BaseBackupID == b.ID {
			return &sp, nil
		}
	}
	return nil, nil
}

func (f *fakeEngine) WALIncrementals(context.Context) ([]engine.WALSpan, error) {
	return f.walSpans, nil
}
