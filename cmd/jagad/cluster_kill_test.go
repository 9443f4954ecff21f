package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/jagad/jagad/engine/cluster/etcdtest"
)

// TestKilledMemberSlotsMove: three jagad processes on one jagad.yaml with
// schedules firing every minute; the first member to start a scheduled run
// is killed with SIGKILL right then. Its schedules move to the two others
// within the lease TTL, the slot it was running is run once by the new
// owner, and every slot of every schedule runs exactly once (counted over
// the survivors' backups, their own and those learned from storage).
func TestKilledMemberSlotsMove(t *testing.T) {
	t.Parallel() // minutes of waiting for cron slots; each has its own etcd, daemons and dirs
	if testing.Short() {
		t.Skip("runs three daemons for about three minutes")
	}
	obsRequirePostgres(t)
	srv := etcdtest.Start(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "jagad.yaml")
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nsettings:\n  timezone: UTC\nstorage:\n  - name: local\n    provider_type: local\n    path: %s\n    is_default: true\n",
		filepath.Join(dir, "backups"))
	b.WriteString("connections:\n  - name: pg\n    db_type: postgresql\n    host: 127.0.0.1\n    port: 5432\n    username: postgres\n    ssl_mode: disable\n")
	b.WriteString("schedules:\n")
	for i := range clusterSchedules {
		fmt.Fprintf(&b, "  - name: every-minute-%d\n    connection: pg\n    database: postgres\n    cron_expr: \"* * * * *\"\n    encryption_enabled: false\n", i)
	}
	fmt.Fprintf(&b, "cluster:\n  endpoints: [%q]\n  group: kill-test\n  lease_ttl: 3s\n", srv.Endpoint())
	writeFile(t, cfg, b.String())
	const pass = "cluster-kill-Admin-Pass-1"
	var ds []*childDaemon
	for i := range 3 {
		env := map[string]string{
			shutdownChildEnv: "1", "JAGAD_LISTEN": "127.0.0.1:0", "JAGAD_DATA_DIR": filepath.Join(dir, fmt.Sprint("m", i)),
			"JAGAD_ADMIN_PASS": pass, "JAGAD_LOG_FORMAT": "json", "JAGAD_CONFIG": cfg, "JAGAD_CLUSTER_MEMBER": fmt.Sprint("m", i),
		}
		d := startChildDaemon(t, os.Args[0], env)
		var login struct{ Token string }
		code, body := d.do("POST", "/api/auth/login", fmt.Sprintf(`{"username":"admin","password":%q}`, pass))
		if code != http.StatusOK || json.Unmarshal(body, &login) != nil || login.Token == "" {
			t.Fatalf("login to m%d = %d %s", i, code, body)
		}
		d.token = login.Token
		ds = append(ds, d)
	}
	cli := srv.Client()
	members := func() int {
		r, err := cli.Get(t.Context(), "/jagad/kill-test/members/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatalf("count members: %v", err)
		}
		return int(r.Count)
	}
	waitUntil(t, 2*time.Minute, "three members in etcd", func() bool { return members() == 3 })

	// Kill the first member that starts a scheduled run, at once.
	marks := make([]int, len(ds))
	for i, d := range ds {
		marks[i] = len(d.out())
	}
	victim := -1
	waitUntil(t, 3*time.Minute, "a scheduled run", func() bool {
		for i, d := range ds {
			if strings.Contains(d.out()[marks[i]:], `"msg":"schedule run"`) {
				victim = i
				return true
			}
		}
		return false
	})
	killed := time.Now().UTC()
	if err := ds[victim].cmd.Process.Kill(); err != nil {
		t.Fatalf("kill m%d: %v", victim, err)
	}
	slot := killed.Truncate(time.Minute)
	t.Logf("killed m%d at %s, in the slot of %s", victim, killed.Format("15:04:05.000"), slot.Format("15:04"))
	waitUntil(t, time.Minute, "the killed member's lease to expire", func() bool { return members() == 2 })
	t.Logf("m%d left the group %s after the kill", victim, time.Since(killed).Round(100*time.Millisecond))

	// Two more slots finish for every schedule.
	waitUntil(t, 4*time.Minute, "two more slots finished", func() bool {
		r, err := cli.Get(t.Context(), "/jagad/kill-test/slots/", clientv3.WithPrefix())
		if err != nil {
			t.Fatalf("slot records: %v", err)
		}
		n := 0
		for _, kv := range r.Kvs {
			sec, _ := strconv.ParseInt(string(kv.Value), 10, 64)
			if !time.Unix(sec, 0).Before(slot.Add(2 * time.Minute)) {
				n++
			}
		}
		return n == clusterSchedules
	})

	// Each survivor lists its own backups and learns the other's.
	type backup struct {
		ID           string    `json:"id"`
		ScheduleName string    `json:"schedule_name"`
		CreatedAt    time.Time `json:"created_at"`
		Status       string    `json:"status"`
	}
	perSlot := map[string]map[string]bool{}
	for i, d := range ds {
		if i == victim {
			continue
		}
		code, body := d.do("GET", "/api/backups?limit=100&status=success", "")
		var bs []backup
		if code != http.StatusOK || json.Unmarshal(body, &bs) != nil {
			t.Fatalf("list backups of m%d = %d %s", i, code, body)
		}
		for _, bk := range bs {
			if bk.Status != "success" {
				continue
			}
			key := bk.ScheduleName + " " + bk.CreatedAt.UTC().Truncate(time.Minute).Format("15:04")
			if perSlot[key] == nil {
				perSlot[key] = map[string]bool{}
			}
			perSlot[key][bk.ID] = true
		}
	}
	for i := range clusterSchedules {
		for _, at := range []time.Time{slot, slot.Add(time.Minute), slot.Add(2 * time.Minute)} {
			key := fmt.Sprintf("every-minute-%d %s", i, at.Format("15:04"))
			if n := len(perSlot[key]); n != 1 {
				t.Errorf("slot %s: %d successful backups, want exactly 1", key, n)
			}
		}
	}
	for key, ids := range perSlot {
		if len(ids) > 1 {
			t.Errorf("slot %s ran %d times", key, len(ids))
		}
	}
	if t.Failed() {
		t.Logf("backups per slot: %v", perSlot)
	}
}

// waitUntil polls cond every 100 ms, failing after limit.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
