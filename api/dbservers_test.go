package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/state"
)

// requireServer fails under CI=true and skips otherwise when t's server is absent.
func requireServer(tb testing.TB, t dbclient.Target) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := dbclient.Ping(ctx, t); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s server at %s is required under CI=true: %v", t.DBType, t.Addr(), err)
		}
		tb.Skipf("%s server at %s not available: %v", t.DBType, t.Addr(), err)
	}
}

func TestConnectionTestAndDiscoverRealServers(t *testing.T) {
	servers := []struct {
		name string
		body map[string]any
		tgt  dbclient.Target
	}{
		{"postgresql", map[string]any{"db_type": "postgresql", "host": "127.0.0.1", "port": 5432, "username": "postgres", "ssl_mode": "disable"},
			dbclient.Target{DBType: "postgresql", Host: "127.0.0.1", Port: 5432, User: "postgres", SSLMode: "disable"}},
		{"mariadb", map[string]any{"db_type": "mariadb", "host": "127.0.0.1", "port": 3306, "username": "root", "ssl_mode": "disable"},
			dbclient.Target{DBType: "mariadb", Host: "127.0.0.1", Port: 3306, User: "root", SSLMode: "disable"}},
	}
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			requireServer(t, s.tgt)
			e := newEnv(t)
			ctx := context.Background()
			b := make([]byte, 4)
			_, _ = rand.Read(b)
			dbName := "jagad_api_" + hex.EncodeToString(b)
			if err := dbclient.CreateDatabase(ctx, s.tgt, dbName); err != nil {
				t.Fatalf("create database: %v", err)
			}
			t.Cleanup(func() { _ = dbclient.DropDatabase(context.Background(), s.tgt, dbName) })

			// Test before saving, then save (no connect on create) and test.
			var tr testResult
			mustJSON(t, e.call("POST", "/api/connections/_new/test", s.body, 200), &tr)
			if !tr.Success {
				t.Fatalf("_new test: %+v", tr)
			}
			body := map[string]any{"name": "real-" + s.name}
			for k, v := range s.body {
				body[k] = v
			}
			conn := idOf(t, e.call("POST", "/api/connections", body, 201).Body)
			mustJSON(t, e.call("POST", "/api/connections/"+conn+"/test", nil, 200), &tr)
			if !tr.Success {
				t.Fatalf("test: %+v", tr)
			}

			var dbs []databaseView
			mustJSON(t, e.call("POST", "/api/connections/"+conn+"/discover", nil, 200), &dbs)
			want := state.DerivedID(state.KindDatabase, conn+"/"+dbName)
			found := false
			for _, d := range dbs {
				if d.DBName == dbName {
					found = true
					if d.ID != want || !d.IsSelected || d.ConnectionID != conn || d.ManagedBy != state.ManagedByAPI {
						t.Errorf("discovered %+v, want id %s selected", d, want)
					}
				}
			}
			if !found {
				t.Fatalf("%s not discovered in %+v", dbName, dbs)
			}
			// A deselected database stays deselected on rediscovery.
			e.call("PUT", "/api/connections/databases/"+want, map[string]any{"is_selected": false}, 204)
			mustJSON(t, e.call("POST", "/api/connections/"+conn+"/discover", nil, 200), &dbs)
			mustJSON(t, e.call("GET", "/api/connections/"+conn+"/databases", nil, 200), &dbs)
			for _, d := range dbs {
				if d.ID == want && d.IsSelected {
					t.Error("rediscovery re-selected a deselected database")
				}
			}

			// An unreachable server: 200 with success false and a message; discover 502.
			e.call("PUT", "/api/connections/"+conn, map[string]any{"port": 1}, 200)
			start := time.Now()
			mustJSON(t, e.call("POST", "/api/connections/"+conn+"/test", nil, 200), &tr)
			if tr.Success || tr.Error == "" || time.Since(start) > 6*time.Second {
				t.Errorf("unreachable test: %+v after %v", tr, time.Since(start))
			}
			if w := e.send(req{method: "POST", path: "/api/connections/" + conn + "/discover"}); w.Code != 502 {
				t.Errorf("unreachable discover: %d %s", w.Code, w.Body)
			}
		})
	}
}
