package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/jagad/jagad/engine/cluster/etcdtest"
)

// clusterSection is the cluster: section naming etcd at endpoint, with a
// 2 s lease TTL: failures are detected quickly.
func clusterSection(endpoint string) string {
	return clusterSectionTTL(endpoint, "2s")
}

// clusterSectionTTL is clusterSection with another lease TTL.
func clusterSectionTTL(endpoint, ttl string) string {
	return fmt.Sprintf("cluster:\n  endpoints: [%q]\n  group: jagad-test\n  lease_ttl: %s\n", endpoint, ttl)
}

// waitCode polls path until it answers want, failing after a minute.
func (od *obsDaemon) waitCode(path string, want int) string {
	od.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		code, body := od.do("GET", path, "", nil)
		if code == want {
			return string(body)
		}
		if time.Now().After(deadline) {
			od.t.Fatalf("GET %s = %d %s, want %d", path, code, body, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClusterReadyzFollowsTheGroup: a daemon with a cluster: section is
// ready only while it holds its lease: etcd stopped for longer than the
// TTL makes /readyz answer 503 naming the group, and its return makes the
// daemon ready again; the jagad_cluster_* series are in the scrape.
func TestClusterReadyzFollowsTheGroup(t *testing.T) {
	srv := etcdtest.Start(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "jagad.yaml")
	writeFile(t, cfg, strings.Replace(readyGoodConfig, "%s", filepath.Join(dir, "backups"), 1)+clusterSection(srv.Endpoint()))
	env := readyEnv(dir, cfg)
	env["JAGAD_CLUSTER_MEMBER"] = "solo"
	od := startObsDaemon(t, env)
	od.waitCode("/readyz", http.StatusOK)
	_, metrics := od.do("GET", "/metrics", "", nil)
	for _, want := range []string{"jagad_cluster_member_up 1", "jagad_cluster_members 1", "jagad_cluster_schedules_owned 0",
		`jagad_cluster_claims_refused_total{reason="not_in_group"} 0`, "jagad_cluster_ownership_changes_total"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("the scrape has no %q", want)
		}
	}
	checkMetrics(t, metrics)
	for _, m := range referencedMetrics(t) {
		if strings.HasPrefix(m, "jagad_cluster_") && !leaseOnlyMetrics[m] && !strings.Contains(string(metrics), "\n"+m) {
			t.Errorf("the example alerts use %s, which a cluster member does not expose", m)
		}
	}
	// Cluster mode: configuration writes through the API are refused,
	// naming the file; operational calls are not.
	od.login("admin", env["JAGAD_ADMIN_PASS"])
	if msg := string(od.api("POST", "/api/notifications", map[string]any{"name": "n", "notif_type": "webhook"},
		http.StatusConflict)); !strings.Contains(msg, "jagad.yaml") || !strings.Contains(msg, "cluster mode") {
		t.Errorf("POST /api/notifications in cluster mode says %s, want jagad.yaml and cluster mode named", msg)
	}
	od.api("POST", "/api/tokens", map[string]any{"name": "ci", "scope": "read"}, http.StatusCreated)
	members, err := srv.Client().Get(t.Context(), "/jagad/jagad-test/members/", clientv3.WithPrefix())
	if err != nil || len(members.Kvs) != 1 || string(members.Kvs[0].Value) != "solo" {
		t.Fatalf("member keys in etcd: %v, %v; want solo", members, err)
	}

	srv.Stop()
	body := od.waitCode("/readyz", http.StatusServiceUnavailable)
	if !strings.Contains(body, "jagad-test") {
		t.Errorf("/readyz out of the group says %s, want the group named", body)
	}
	srv.Start()
	od.waitCode("/readyz", http.StatusOK)
}

// TestClusterAloneWithoutSection: without a cluster: section the daemon
// runs alone: no jagad_cluster_* series, ready at once.
func TestClusterAloneWithoutSection(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "jagad.yaml")
	writeFile(t, cfg, strings.Replace(readyGoodConfig, "%s", filepath.Join(dir, "backups"), 1))
	od := startObsDaemon(t, readyEnv(dir, cfg))
	od.waitCode("/readyz", http.StatusOK)
	if _, metrics := od.do("GET", "/metrics", "", nil); strings.Contains(string(metrics), "jagad_cluster_") {
		t.Error("a daemon alone exposes jagad_cluster_* series")
	}
}

// TestClusterBrokenFileRefusesToStartAlone: a file that declares a
// cluster: section but has errors does not start a daemon that would run
// every schedule beside the group.
func TestClusterBrokenFileRefusesToStartAlone(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "jagad.yaml")
	writeFile(t, cfg, "version: 1\ncluster:\n  endpoints: []\n")
	env := readyEnv(dir, cfg)
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	c, err := parseServeFlags(nil, io.Discard, lookup)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = serve(ctx, c, slog.New(slog.DiscardHandler), lookup)
	if err == nil || !strings.Contains(err.Error(), "cluster") {
		t.Fatalf("serve on a broken cluster file: %v, want a refusal naming the cluster section", err)
	}
}

const clusterSchedules = 6

// TestThreeDaemonsRunEachSlotOnce: three daemons on one jagad.yaml with
// schedules firing every minute: every slot runs exactly once across the
// group (counting the backups of all three per schedule and minute), the
// schedules are spread over more than one member, every member lists every
// backup of the group, and a fourth member joining doubles no slot.
func TestThreeDaemonsRunEachSlotOnce(t *testing.T) {
	t.Parallel() // minutes of waiting for cron slots; each has its own etcd, daemons and dirs
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
	// A 6 s TTL: this test counts runs, and each member's lease guard cuts
	// a run off (a failed record, then the slot runs again) when it has not
	// confirmed its lease for TTL - max(0.5 s, TTL/10); with 2 s, a busy
	// machine running make test's -race packages delayed keep-alives past
	// that and the count saw those cut-offs as doubled slots. Cut-offs have
	// their own tests (TestLeaseGuardCutsOffBeforeExpiry, TestClusterLeaseRevokedMidRun).
	b.WriteString(clusterSectionTTL(srv.Endpoint(), "6s"))
	writeFile(t, cfg, b.String())
	var ods []*obsDaemon
	for i := range 3 {
		env := readyEnv(filepath.Join(dir, fmt.Sprint("m", i)), cfg)
		env["JAGAD_CLUSTER_MEMBER"] = fmt.Sprint("m", i)
		od := startObsDaemon(t, env)
		od.waitCode("/readyz", http.StatusOK)
		od.login("admin", env["JAGAD_ADMIN_PASS"])
		ods = append(ods, od)
	}
	// waitSlots waits until every schedule has finished a slot later than
	// after + 1 minute (the slot records in etcd).
	cli := srv.Client()
	waitSlots := func(after time.Time) {
		deadline := time.Now().Add(5 * time.Minute)
		for {
			resp, err := cli.Get(t.Context(), "/jagad/jagad-test/slots/", clientv3.WithPrefix())
			if err != nil {
				t.Fatalf("read slot records: %v", err)
			}
			done := 0
			for _, kv := range resp.Kvs {
				sec, err := strconv.ParseInt(string(kv.Value), 10, 64)
				if err != nil {
					t.Fatalf("slot record %s = %q: %v", kv.Key, kv.Value, err)
				}
				if time.Unix(sec, 0).After(after.Add(time.Minute)) {
					done++
				}
			}
			if done == clusterSchedules {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("after 5 minutes %d of %d schedules finished two slots", done, clusterSchedules)
			}
			time.Sleep(time.Second)
		}
	}
	waitSlots(time.Now())
	// Count the backups of all three by ID (each member also records the
	// others' backups, learned from their manifests).
	type backup struct {
		ID           string    `json:"id"`
		ScheduleName string    `json:"schedule_name"`
		CreatedAt    time.Time `json:"created_at"`
		Status       string    `json:"status"`
		LogOutput    string    `json:"log_output"`
	}
	list := func(od *obsDaemon) []backup {
		var bs []backup
		if err := json.Unmarshal(od.api("GET", "/api/backups?limit=100", nil, http.StatusOK), &bs); err != nil {
			t.Fatalf("list backups: %v", err)
		}
		return bs
	}
	perSlot := map[string][]string{}
	ranBy := map[string]bool{}
	all := map[string]bool{}
	for i, od := range ods {
		for _, bk := range list(od) {
			if strings.HasPrefix(bk.LogOutput, "CLUSTER: record learned") {
				continue
			}
			key := bk.ScheduleName + " " + bk.CreatedAt.UTC().Truncate(time.Minute).Format("15:04")
			perSlot[key] = append(perSlot[key], fmt.Sprintf("m%d:%s:%s", i, bk.Status, bk.ID))
			ranBy[fmt.Sprint("m", i)] = true
			if bk.Status == "success" {
				all[bk.ID] = true
			}
		}
	}
	for key, runs := range perSlot {
		if len(runs) != 1 {
			t.Errorf("slot %s ran %d times: %v", key, len(runs), runs)
		}
	}
	if len(perSlot) < 2*clusterSchedules {
		t.Errorf("%d slots ran, want at least %d: %v", len(perSlot), 2*clusterSchedules, perSlot)
	}
	if len(ranBy) < 2 {
		t.Errorf("only %v ran backups: the schedules are not spread", ranBy)
	}
	// Every member lists every successful backup of the group.
	learnStart := time.Now()
	for i, od := range ods {
		for {
			have := map[string]bool{}
			for _, bk := range list(od) {
				have[bk.ID] = true
			}
			missing := 0
			for id := range all {
				if !have[id] {
					missing++
				}
			}
			if missing == 0 {
				break
			}
			if time.Since(learnStart) > time.Minute {
				t.Fatalf("m%d lists %d of the group's %d backups after a minute", i, len(all)-missing, len(all))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	t.Logf("every member lists all %d backups %s after the count", len(all), time.Since(learnStart).Round(time.Second))

	// A fourth member joins: the schedules it wins move to it, and every
	// slot still runs exactly once, during the move and after it.
	env := readyEnv(filepath.Join(dir, "m3"), cfg)
	env["JAGAD_CLUSTER_MEMBER"] = "m3"
	od4 := startObsDaemon(t, env)
	od4.waitCode("/readyz", http.StatusOK)
	od4.login("admin", env["JAGAD_ADMIN_PASS"])
	joined4 := time.Now().UTC()
	ods = append(ods, od4)
	waitSlots(joined4)
	own := map[string]map[string]bool{}
	for _, od := range ods {
		for _, bk := range list(od) {
			if strings.HasPrefix(bk.LogOutput, "CLUSTER: record learned") {
				continue
			}
			key := bk.ScheduleName + " " + bk.CreatedAt.UTC().Truncate(time.Minute).Format("15:04")
			if own[key] == nil {
				own[key] = map[string]bool{}
			}
			own[key][bk.ID] = true
		}
	}
	for key, ids := range own {
		if len(ids) != 1 {
			t.Errorf("with four members, slot %s ran %d times", key, len(ids))
		}
	}
	for i := range clusterSchedules {
		for at := joined4.Truncate(time.Minute); !at.After(joined4.Add(time.Minute)); at = at.Add(time.Minute) {
			if key := fmt.Sprintf("every-minute-%d %s", i, at.Format("15:04")); len(own[key]) != 1 {
				t.Errorf("slot %s around the join: %d runs, want 1", key, len(own[key]))
			}
		}
	}
	t.Logf("slots: %v", perSlot)
}
