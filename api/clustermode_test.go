package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/jagad/jagad/state"
)

// TestClusterModeClassifiesEveryWrite: every route that is not a GET is
// either refused in cluster mode (a configuration write) or allowed (an
// operational action), never both and never neither; the tables name only
// real routes.
func TestClusterModeClassifiesEveryWrite(t *testing.T) {
	s := &server{}
	seen := map[string]bool{}
	for _, r := range s.routeTable() {
		key := r.method + " " + r.path
		seen[key] = true
		if r.method == http.MethodGet {
			if _, ok := clusterRefused[key]; ok {
				t.Errorf("cluster mode refuses the read %s", key)
			}
			continue
		}
		_, refused := clusterRefused[key]
		if refused == clusterAllowed[key] {
			t.Errorf("route %s: refused=%v allowed=%v in cluster mode; put it in exactly one of clusterRefused and clusterAllowed",
				key, refused, clusterAllowed[key])
		}
	}
	for key := range clusterRefused {
		if !seen[key] {
			t.Errorf("clusterRefused names %s, which is not a route", key)
		}
	}
	for key := range clusterAllowed {
		if !seen[key] {
			t.Errorf("clusterAllowed names %s, which is not a route", key)
		}
	}
}

// TestClusterModeRefusesConfigurationWrites: in cluster mode each class of
// configuration write (connections, database selection, schedules and
// their enabled override, storage providers, notification targets,
// settings) answers 409 naming jagad.yaml and changes nothing; the same
// calls work alone; an anonymous caller still gets 401; operational
// actions (run, verify, delete a backup, restore, tokens, login, reload of
// the file, reads) are not refused.
func TestClusterModeRefusesConfigurationWrites(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e)
	e.deps.ClusterGroup = "prod"
	e.h = New(e.deps)

	refused := []struct {
		class, method, path string
		body                any
	}{
		{"connections", "POST", "/api/connections", map[string]any{"name": "other", "db_type": "postgresql", "host": "h", "port": 5432, "username": "u"}},
		{"connections", "PUT", "/api/connections/" + f.conn, map[string]any{"name": "prod-pg", "db_type": "postgresql", "host": "changed", "port": 5432, "username": "u"}},
		{"connections", "DELETE", "/api/connections/" + f.conn, nil},
		{"connections", "PUT", "/api/connections/databases/" + f.db, map[string]any{"is_selected": false}},
		{"schedules", "POST", "/api/schedules", map[string]any{"connection_id": f.conn, "database_id": f.db, "cron_expr": "0 3 * * *"}},
		{"schedules", "PUT", "/api/schedules/" + f.sched, map[string]any{"enabled": false}},
		{"schedules", "DELETE", "/api/schedules/" + f.sched, nil},
		{"storage", "POST", "/api/storage-providers", map[string]any{"name": "l", "provider_type": "local", "path": "/tmp/x"}},
		{"storage", "PUT", "/api/storage-providers/" + f.prov, map[string]any{"name": "s3"}},
		{"storage", "DELETE", "/api/storage-providers/" + f.prov, nil},
		{"storage", "POST", "/api/storage-providers/" + f.prov + "/set-default", nil},
		{"notifications", "POST", "/api/notifications", map[string]any{"name": "n", "notif_type": "webhook"}},
		{"notifications", "PUT", "/api/notifications/" + f.notif, map[string]any{"name": "tg"}},
		{"notifications", "DELETE", "/api/notifications/" + f.notif, nil},
		{"settings", "PUT", "/api/settings", map[string]any{"timezone": "Europe/Berlin"}},
	}
	for _, c := range refused {
		w := e.send(req{method: c.method, path: c.path, body: c.body})
		if w.Code != http.StatusConflict {
			t.Errorf("%s %s in cluster mode = %d %s, want 409", c.method, c.path, w.Code, w.Body)
			continue
		}
		msg := errMsg(t, w)
		for _, want := range []string{"cluster mode", `group "prod"`, c.class, "jagad.yaml"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s %s: error %q does not say %q", c.method, c.path, msg, want)
			}
		}
		if w := e.send(req{method: c.method, path: c.path, body: c.body, noAuth: true}); w.Code != http.StatusUnauthorized {
			t.Errorf("anonymous %s %s in cluster mode = %d, want 401", c.method, c.path, w.Code)
		}
	}
	// Nothing changed.
	var (
		conn  state.Connection
		sched state.Schedule
		db    state.Database
		n     int
	)
	if err := e.store.View(func(tx *state.Tx) (err error) {
		if conn, err = state.Get[state.Connection](tx, f.conn); err != nil {
			return err
		}
		if db, err = state.Get[state.Database](tx, f.db); err != nil {
			return err
		}
		if sched, err = state.Get[state.Schedule](tx, f.sched); err != nil {
			return err
		}
		ps, err := state.List[state.Provider](tx)
		n = len(ps)
		return err
	}); err != nil {
		t.Fatalf("records after the refused writes: %v", err)
	}
	if conn.Host != "db.example.com" || !db.IsSelected || !sched.EffectiveEnabled() || n != 1 {
		t.Errorf("a refused write changed the store: host %q, selected %v, enabled %v, %d providers",
			conn.Host, db.IsSelected, sched.EffectiveEnabled(), n)
	}

	// Operational actions and reads are not refused.
	allowed := []struct {
		method, path string
		body         any
		want         int
	}{
		{"GET", "/api/connections", nil, http.StatusOK},
		{"GET", "/api/schedules/" + f.sched, nil, http.StatusOK},
		{"POST", "/api/schedules/" + f.sched + "/run", nil, 0},
		{"POST", "/api/backups/" + f.backup + "/verify", nil, 0},
		{"POST", "/api/backups/" + f.backup + "/restore", map[string]any{}, http.StatusCreated},
		{"POST", "/api/config/reload", nil, http.StatusOK},
		{"POST", "/api/tokens", map[string]any{"name": "ci", "scope": "read"}, http.StatusCreated},
		{"DELETE", "/api/backups/" + f.backup, nil, 0},
	}
	for _, c := range allowed {
		w := e.send(req{method: c.method, path: c.path, body: c.body})
		if c.want != 0 && w.Code != c.want || w.Code == http.StatusConflict || w.Code >= 500 {
			t.Errorf("%s %s in cluster mode = %d %s, want %d (allowed)", c.method, c.path, w.Code, w.Body, c.want)
		}
	}
	if tok := e.login(testUser, testPass, "192.0.2.9:1"); tok == "" {
		t.Error("login refused in cluster mode")
	}

	// Alone, the same configuration write works.
	e.deps.ClusterGroup = ""
	e.h = New(e.deps)
	e.call("PUT", "/api/schedules/"+f.sched, map[string]any{"enabled": false}, http.StatusOK)
}
