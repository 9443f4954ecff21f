package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/jagad/jagad/engine/dbtest"
)

// pitrWizard: a PostgreSQL connection (a private server) made through the
// API with wal_archive on, a physical base backup of it, rows written and
// a point T noted, more rows, the WAL of both archived. The wizard offers
// a point in time for the base backup (not for the pg_dump one: see
// restoreWizard), restores it to T into a new data directory with check,
// and the restore page shows the point asked for; the throwaway server's
// row count is T's.
func (d *dash) pitrWizard(t *testing.T) {
	b, od := d.b, d.od
	srv := dbtest.PrivatePostgres(t)
	srv.Exec(t, "", "CREATE DATABASE app")
	srv.Exec(t, "app", "CREATE TABLE t1 (id int PRIMARY KEY); INSERT INTO t1 SELECT generate_series(1, 3)")
	call := func(method, path string, body any, want int, out any) {
		t.Helper()
		code, raw := od.do(method, path, od.token, body)
		if code != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, code, want, raw)
		}
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
		}
	}
	var conn struct {
		ID string `json:"id"`
	}
	call("POST", "/api/connections", map[string]any{"name": "pitr", "db_type": "postgresql", "host": srv.Host, "port": srv.Port,
		"username": srv.User, "password": srv.Password, "ssl_mode": "disable",
		"wal_archive": map[string]any{"enabled": true, "storage": "local"}}, http.StatusCreated, &conn)
	t.Cleanup(func() { // drops the slot and stops the archiver before the server goes
		_, _ = od.do("PUT", "/api/connections/"+conn.ID, od.token, map[string]any{"wal_archive": map[string]any{"enabled": false}})
	})
	call("POST", "/api/connections/"+conn.ID+"/discover", nil, http.StatusOK, nil)
	var dbs []struct {
		ID     string `json:"id"`
		DBName string `json:"db_name"`
	}
	call("GET", "/api/connections/"+conn.ID+"/databases", nil, http.StatusOK, &dbs)
	dbID := ""
	for _, x := range dbs {
		if x.DBName == "app" {
			dbID = x.ID
		}
	}
	if dbID == "" {
		t.Fatalf("database app not discovered: %+v", dbs)
	}
	waitFor(t, time.Minute, "pg_receivewal streaming on the slot", func() bool {
		var active bool
		err := srv.DB(t, "app").QueryRow("SELECT active FROM pg_replication_slots WHERE slot_name = 'jagad_pitr'").Scan(&active)
		return err == nil && active
	})
	var base struct {
		ID        string `json:"id"`
		Status    string `json:"status"`
		LogOutput string `json:"log_output"`
	}
	call("POST", "/api/backups", map[string]any{"connection_id": conn.ID, "database_id": dbID, "backup_type": "physical"}, http.StatusCreated, &base)
	waitFor(t, 2*time.Minute, "the base backup", func() bool {
		call("GET", "/api/backups/"+base.ID, nil, http.StatusOK, &base)
		return base.Status == "success" || base.Status == "failed"
	})
	if base.Status != "success" {
		t.Fatalf("base backup %s:\n%s", base.Status, base.LogOutput)
	}
	srv.Exec(t, "app", "INSERT INTO t1 SELECT generate_series(10, 14)")
	time.Sleep(1100 * time.Millisecond) // keep T clear of both commits (the wizard's input has whole seconds)
	var target time.Time
	if err := srv.DB(t, "app").QueryRow("SELECT date_trunc('second', clock_timestamp()) + interval '1 second'").Scan(&target); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(target.Add(1100 * time.Millisecond)))
	srv.Exec(t, "app", "INSERT INTO t1 SELECT generate_series(100, 199)")
	var seg string
	if err := srv.DB(t, "app").QueryRow("SELECT pg_walfile_name(pg_switch_wal())").Scan(&seg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Minute, "segment "+seg+" archived", func() bool {
		var rep struct {
			OK   bool   `json:"ok"`
			Last string `json:"last"`
		}
		call("POST", "/api/connections/"+conn.ID+"/archive/verify", nil, http.StatusOK, &rep)
		return rep.OK && rep.Last >= seg
	})

	b.do(20*time.Second, chromedp.Navigate(od.base+"/restore?backup="+base.ID), chromedp.WaitVisible(chromedp.ID("r-when")))
	if got := b.eval(`[!!document.getElementById("r-conn"), !!document.getElementById("w-latest"), !!document.getElementById("r-check"), document.getElementById("r-pit").disabled].join()`); got != "false,true,true,true" {
		t.Errorf("physical wizard (target connection, latest, check, time disabled) = %s", got)
	}
	b.checkA11y("restore wizard, point in time")
	// A directory the postgres user (the throwaway server's, when the
	// tests run as root) can reach.
	tmp := t.TempDir()
	for _, d := range []string{filepath.Dir(tmp), tmp} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(tmp, "pgdata")
	b.do(10*time.Second, chromedp.Click(chromedp.ID("w-pit")),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("r-pit").value = "`+target.UTC().Format("2006-01-02T15:04:05")+`"`),
		chromedp.SendKeys(chromedp.ID("r-dir"), dir), chromedp.Click(chromedp.ID("r-check")))
	if got := b.eval(`String(document.getElementById("r-pit").disabled)`); got != "false" {
		t.Error("choosing a point in time leaves its input disabled")
	}
	b.shot("restore-wizard-point-in-time")
	b.do(20*time.Second, chromedp.Click(chromedp.CSS("#restore-form button[type=submit]")), chromedp.WaitVisible(chromedp.ID("restore-status")))
	if got := b.eval(`document.getElementById("restore-point").textContent`); !strings.Contains(got, "target_time") {
		t.Errorf("the restore page shows the point as %q", got)
	}
	b.waitJS(3*time.Minute, `["success", "failed"].includes(document.getElementById("restore-status").textContent)`)
	b.shot("restore-point-in-time-done")
	var res struct {
		Status     string     `json:"status"`
		LogOutput  string     `json:"log_output"`
		TargetTime *time.Time `json:"target_time"`
	}
	id := b.eval(`location.pathname.split("/").pop()`)
	call("GET", "/api/restores/"+id, nil, http.StatusOK, &res)
	if res.Status != "success" || res.TargetTime == nil || !res.TargetTime.Equal(target) ||
		!strings.Contains(res.LogOutput, "CHECK: table public.t1: 8 rows") {
		t.Errorf("restore to %s: %s, target_time %v\n%s", target, res.Status, res.TargetTime, res.LogOutput)
	}
	b.noIssues("point-in-time restore")
}

// waitFor polls cond every 200 ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
