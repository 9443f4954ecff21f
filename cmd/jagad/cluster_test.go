package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/jagad/jagad/engine/cluster/etcdtest"
)

// The group and lease TTL of these tests' daemons. 6 s: each member's
// lease guard cuts its runs off (a failed record, then the slot runs
// again) when it has not confirmed its lease for TTL - max(0.5 s, TTL/10);
// with 2 s, make test's load delayed keep-alives past that and the
// cut-offs showed as extra runs. The three-daemon count and the kill -9
// are in package clustere2e.
const (
	clusterTestGroup = "jagad-test"
	clusterTestTTL   = "6s"
)

// clusterSection is the cluster: section joining the test group on srv.
func clusterSection(srv *etcdtest.Server) string {
	return srv.Section(clusterTestGroup, clusterTestTTL)
}

// clusterYAML is the rest of a group test's jagad.yaml: local storage
// under dir, PostgreSQL on loopback as connection pg, and for each name a
// schedule dumping the postgres database every minute; settings are extra
// lines of its settings: section ("  key: value\n").
func clusterYAML(dir, settings string, names ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nsettings:\n  timezone: UTC\n%sstorage:\n  - name: local\n    provider_type: local\n    path: %s\n    is_default: true\n",
		settings, filepath.Join(dir, "backups"))
	b.WriteString("connections:\n  - name: pg\n    db_type: postgresql\n    host: 127.0.0.1\n    port: 5432\n    username: postgres\n    ssl_mode: disable\n")
	b.WriteString("schedules:\n")
	for _, name := range names {
		fmt.Fprintf(&b, "  - name: %s\n    connection: pg\n    database: postgres\n    cron_expr: \"* * * * *\"\n    encryption_enabled: false\n", name)
	}
	return b.String()
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
	writeFile(t, cfg, strings.Replace(readyGoodConfig, "%s", filepath.Join(dir, "backups"), 1)+clusterSection(srv))
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
