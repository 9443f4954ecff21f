package api

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/state"
)

// pingRecorder succeeds and remembers the targets it was asked to ping.
type pingRecorder struct {
	mu      sync.Mutex
	targets []dbclient.Target
}

func (p *pingRecorder) Ping(_ context.Context, t dbclient.Target) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.targets = append(p.targets, t)
	return nil
}

func (p *pingRecorder) ListDatabases(context.Context, dbclient.Target) ([]dbclient.DBInfo, error) {
	return nil, nil
}

func (p *pingRecorder) last(tb testing.TB) dbclient.Target {
	tb.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.targets) == 0 {
		tb.Fatal("no ping")
	}
	return p.targets[len(p.targets)-1]
}

// The edit form tests its values before it saves: a stored connection's
// test takes the body's fields over the stored ones, keeps the stored
// password when the body has none, and writes nothing.
func TestTestConnectionWithEdits(t *testing.T) {
	db := &pingRecorder{}
	e := newEnv(t, func(d *Deps) { d.DB = db })
	f := newFixture(e)
	path := "/api/connections/" + f.conn + "/test"

	e.call("POST", path, nil, http.StatusOK)
	if got := db.last(t); got.Host != "db.example.com" || got.Password != "pg-secret" {
		t.Errorf("body-less test: host %q password %q, want the stored ones", got.Host, got.Password)
	}

	e.call("POST", path, map[string]any{"host": "db2.example.com", "port": 6543, "password": ""}, http.StatusOK)
	got := db.last(t)
	if got.Host != "db2.example.com" || got.Port != 6543 || got.Password != "pg-secret" {
		t.Errorf("edited test: %s:%d password %q, want db2.example.com:6543 with the stored password", got.Host, got.Port, got.Password)
	}
	e.call("POST", path, map[string]any{"password": "new-secret"}, http.StatusOK)
	if got := db.last(t); got.Password != "new-secret" || got.Host != "db.example.com" {
		t.Errorf("test with a new password: host %q password %q", got.Host, got.Password)
	}

	var c state.Connection
	if err := e.store.View(func(tx *state.Tx) (err error) { c, err = state.Get[state.Connection](tx, f.conn); return err }); err != nil {
		t.Fatal(err)
	}
	if c.Host != "db.example.com" || c.Port != 5432 || c.Password.Reveal() != "pg-secret" {
		t.Errorf("a test wrote the record: %s:%d", c.Host, c.Port)
	}

	w := e.call("POST", path, map[string]any{"db_type": "oracle"}, http.StatusBadRequest)
	if len(db.targets) != 3 {
		t.Errorf("an invalid edit was pinged: %d pings, body %s", len(db.targets), w.Body)
	}
}
