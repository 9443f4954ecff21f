package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/cluster/k8slease/k8sleasetest"
)

// leaseOnlyMetrics are the jagad_cluster_* series only the Kubernetes Lease
// mode exports (the etcd mode's test skips them).
var leaseOnlyMetrics = map[string]bool{"jagad_cluster_leader": true, "jagad_cluster_leadership_changes_total": true}

// etcdOnlyMetrics are the jagad_cluster_* series only the etcd mode
// exports: the Lease mode cannot count the members.
var etcdOnlyMetrics = map[string]bool{"jagad_cluster_members": true}

// TestClusterLeaseModeWithoutTheAPIServer: a daemon in the Lease mode
// (JAGAD_CLUSTER_K8S_*, a kubeconfig naming a loopback port nothing listens
// on) starts, serves, is not ready while it cannot reach the API server
// (/readyz names the Lease), does not lead, and exposes the Lease mode's
// series, including every jagad_cluster_* one the example alerts use but
// the etcd mode's own (etcdOnlyMetrics). (No Kubernetes API server can run here: the
// election itself is tested in engine/cluster/k8slease.)
func TestClusterLeaseModeWithoutTheAPIServer(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "jagad.yaml")
	writeFile(t, cfg, strings.Replace(readyGoodConfig, "%s", filepath.Join(dir, "backups"), 1))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there now: connection refused
	kubeconfig := filepath.Join(dir, "kubeconfig")
	writeFile(t, kubeconfig, fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
  - name: none
    cluster:
      server: https://127.0.0.1:%d
      insecure-skip-tls-verify: true
users:
  - name: none
    user:
      token: fake-token-for-an-absent-server
contexts:
  - name: none
    context: {cluster: none, user: none}
current-context: none
`, port))
	env := readyEnv(dir, cfg)
	env["JAGAD_CLUSTER_K8S_NAMESPACE"] = "backups"
	env["JAGAD_CLUSTER_K8S_KUBECONFIG"] = kubeconfig
	env["JAGAD_CLUSTER_K8S_LEASE_DURATION"] = "2s"
	env["JAGAD_CLUSTER_K8S_RENEW_DEADLINE"] = "1s"
	env["JAGAD_CLUSTER_K8S_RETRY_PERIOD"] = "200ms"
	env["JAGAD_CLUSTER_MEMBER"] = "jagad-0"
	od := startObsDaemon(t, env)
	body := od.waitCode("/readyz", http.StatusServiceUnavailable)
	if !strings.Contains(body, "backups/jagad") || strings.Contains(body, "fake-token") {
		t.Errorf("/readyz says %s: want the Lease named, and no token", body)
	}
	_, metrics := od.do("GET", "/metrics", "", nil)
	for _, want := range []string{"jagad_cluster_member_up 0", "jagad_cluster_leader 0", "jagad_cluster_schedules_owned 0",
		`jagad_cluster_claims_refused_total{reason="not_in_group"} 0`, "jagad_cluster_leadership_changes_total 0",
		`jagad_cluster_runs_cut_off_total{reason="unconfirmed"} 0`, `jagad_cluster_runs_cut_off_total{reason="lost"} 0`,
		`jagad_cluster_runs_cut_off_total{reason="left"} 0`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("the scrape has no %q", want)
		}
	}
	if strings.Contains(string(metrics), "jagad_cluster_members") {
		t.Error("the Lease mode exports jagad_cluster_members, which it cannot know")
	}
	checkMetrics(t, metrics)
	for _, m := range referencedMetrics(t) {
		if strings.HasPrefix(m, "jagad_cluster_") && !etcdOnlyMetrics[m] && !strings.Contains(string(metrics), "\n"+m) {
			t.Errorf("the example alerts use %s, which a Lease-mode member does not expose", m)
		}
	}
}

// TestClusterLeaseModeLeads: a daemon in the Lease mode, given a
// kubeconfig whose context names the namespace, takes the Lease, is ready
// and exports itself as the leader; at shutdown it hands the Lease back.
// The API server is k8sleasetest's (see engine/cluster/k8slease).
func TestClusterLeaseModeLeads(t *testing.T) {
	api := k8sleasetest.New(t)
	testClusterLeaseModeLeads(t, api, api.Token)
}

// leaseAPI is the Lease API the daemon runs against: k8sleasetest's fake
// here, a real kube-apiserver in cluster_k8s_real_test.go.
type leaseAPI interface {
	Kubeconfig(t testing.TB, namespace string) string
	Holder(namespace, name string) (holder string, ok bool)
}

// testClusterLeaseModeLeads: the only daemon leads and releases the Lease
// at shutdown; token (the kubeconfig's) is not in its log.
func testClusterLeaseModeLeads(t *testing.T, api leaseAPI, token string) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "jagad.yaml")
	writeFile(t, cfg, strings.Replace(readyGoodConfig, "%s", filepath.Join(dir, "backups"), 1))
	env := readyEnv(dir, cfg)
	env["JAGAD_CLUSTER_K8S_KUBECONFIG"] = api.Kubeconfig(t, "backups")
	env["JAGAD_CLUSTER_K8S_LEASE_DURATION"] = "2s"
	env["JAGAD_CLUSTER_K8S_RENEW_DEADLINE"] = "1s"
	env["JAGAD_CLUSTER_K8S_RETRY_PERIOD"] = "200ms"
	env["JAGAD_CLUSTER_MEMBER"] = "jagad-0"
	od := startObsDaemon(t, env)
	od.waitCode("/readyz", http.StatusOK)
	deadline := time.Now().Add(time.Minute)
	for {
		_, metrics := od.do("GET", "/metrics", "", nil)
		if strings.Contains(string(metrics), "\njagad_cluster_leader 1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the only daemon did not lead within a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if h, ok := api.Holder("backups", "jagad"); !ok || h != "jagad-0" {
		t.Fatalf("the Lease (in the kubeconfig's namespace) is held by %q (exists %v)", h, ok)
	}
	od.stop()
	if h, _ := api.Holder("backups", "jagad"); h != "" {
		t.Errorf("after shutdown the Lease is held by %q, want released", h)
	}
	if logs := od.logs.String(); strings.Contains(logs, token) {
		t.Error("the token is in the daemon's log")
	}
}

// TestClusterLeaseAndEtcdRefused: the Lease mode beside etcd endpoints
// stops the daemon at start.
func TestClusterLeaseAndEtcdRefused(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "jagad.yaml")
	writeFile(t, cfg, strings.Replace(readyGoodConfig, "%s", filepath.Join(dir, "backups"), 1))
	env := readyEnv(dir, cfg)
	env["JAGAD_CLUSTER_ENDPOINTS"] = "http://127.0.0.1:2379"
	env["JAGAD_CLUSTER_K8S_NAMESPACE"] = "backups"
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	c, err := parseServeFlags(nil, io.Discard, lookup)
	if err != nil {
		t.Fatal(err)
	}
	_, err = joinCluster(c, nil, nil, nil, lookup, &clusterSectionWatch{})
	if err == nil || !strings.Contains(err.Error(), "kubernetes_lease: cannot be used with endpoints") {
		t.Fatalf("etcd and the Lease both: %v", err)
	}
}
