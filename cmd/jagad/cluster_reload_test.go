package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/engine/cluster/etcdtest"
)

// TestClusterSectionChangeNeedsRestart: a reload whose cluster: section
// differs from the one the daemon started with is reported once, naming
// the changed fields (never the password's value) and the restart it
// needs; the same section, or alone without one, says nothing.
func TestClusterSectionChangeNeedsRestart(t *testing.T) {
	started := &config.Cluster{Endpoints: []string{"http://etcd-0:2379"}, Group: "prod",
		LeaseTTL: config.Duration(10 * time.Second), Username: "jagad", Password: "old-secret"}
	var logs bytes.Buffer
	w := &clusterSectionWatch{log: slog.New(slog.NewTextHandler(&logs, nil)), started: started,
		env: func(string) (string, bool) { return "", false }}
	same := *started
	w.check(&config.File{Cluster: &same})
	if logs.Len() != 0 {
		t.Fatalf("an unchanged section was reported: %s", logs.String())
	}
	changed := *started
	changed.Group, changed.Password = "other", "new-secret"
	w.check(&config.File{Cluster: &changed})
	w.check(&config.File{Cluster: &changed}) // reported once
	out := logs.String()
	if strings.Count(out, "restart the daemon") != 1 || !strings.Contains(out, "group") || !strings.Contains(out, "password") {
		t.Fatalf("a changed section was reported as %q, want once, naming group and password", out)
	}
	if strings.Contains(out, "secret") {
		t.Fatalf("the report quotes the password: %s", out)
	}
	if got, want := w.InForce(), []string{"cluster.group changed", "cluster.password changed"}; !slices.Equal(got, want) {
		t.Errorf("needs restart: %v, want %v", got, want)
	}
	doc := "version: 1\ncluster:\n  endpoints: [\"http://etcd-0:2379\"]\n  group: prod\n  lease_ttl: 20s\n  username: jagad\n  password: old-secret\n"
	if got, want := w.ForDocument([]byte(doc)), []string{"cluster.lease_ttl changed"}; !slices.Equal(got, want) {
		t.Errorf("needs restart for a posted document: %v, want %v", got, want)
	}
	logs.Reset()
	w.check(&config.File{})
	if !strings.Contains(logs.String(), "section removed") {
		t.Errorf("a removed section was reported as %q", logs.String())
	}

	// The Kubernetes Lease fields are compared too.
	lease := &config.Cluster{KubernetesLease: &config.KubernetesLease{Namespace: "backups", Name: "jagad",
		RetryPeriod: config.Duration(2 * time.Second)}}
	moved := *lease.KubernetesLease
	moved.Name, moved.RetryPeriod = "jagad-2", config.Duration(3*time.Second)
	if got, want := clusterDiff(lease, &config.Cluster{KubernetesLease: &moved}),
		[]string{"cluster.kubernetes_lease.name changed", "cluster.kubernetes_lease.retry_period changed"}; !slices.Equal(got, want) {
		t.Errorf("Lease fields changed: %v, want %v", got, want)
	}
	if got := clusterDiff(lease, &config.Cluster{Endpoints: []string{"http://etcd-0:2379"}}); !slices.Contains(got, "cluster.kubernetes_lease removed") {
		t.Errorf("from the Lease mode to etcd: %v, want the Lease named as removed", got)
	}

	logs.Reset()
	alone := &clusterSectionWatch{log: slog.New(slog.NewTextHandler(&logs, nil)), env: w.env}
	alone.check(&config.File{})
	if logs.Len() != 0 {
		t.Fatalf("a daemon alone without a section reported: %s", logs.String())
	}
	alone.check(&config.File{Cluster: &same})
	if !strings.Contains(logs.String(), "section added") || !strings.Contains(logs.String(), "restart the daemon") {
		t.Errorf("a section added to a daemon alone was reported as %q", logs.String())
	}
}

// TestClusterSectionChangeShownInPlanAndStatus: a daemon in a group whose
// jagad.yaml changes its cluster: section (group and lease_ttl) and adds a
// storage: `jagad plan` lists the section's changes as needing a restart
// (exit 2, beside the storage it would create), the reload applies the
// storage and answers the same notes, GET /api/config/status lists them
// from then on, and the daemon stays in the group it started in.
func TestClusterSectionChangeShownInPlanAndStatus(t *testing.T) {
	srv := etcdtest.Start(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "jagad.yaml")
	base := strings.Replace(readyGoodConfig, "%s", filepath.Join(dir, "backups"), 1)
	writeFile(t, cfg, base+clusterSection(srv))
	env := readyEnv(dir, cfg)
	env["JAGAD_CLUSTER_MEMBER"] = "m0"
	od := startObsDaemon(t, env)
	od.waitCode("/readyz", http.StatusOK)
	od.login("admin", env["JAGAD_ADMIN_PASS"])
	type status struct {
		NeedsRestart []string `json:"needs_restart"`
	}
	var st status
	if err := json.Unmarshal(od.api("GET", "/api/config/status", nil, http.StatusOK), &st); err != nil || st.NeedsRestart == nil || len(st.NeedsRestart) != 0 {
		t.Fatalf("config status at start: needs_restart %v (%v), want []", st.NeedsRestart, err)
	}

	changed := base + fmt.Sprintf("  - name: more\n    provider_type: local\n    path: %s\n", filepath.Join(dir, "more")) +
		srv.Section("other-group", "8s")
	wantNotes := []string{"cluster.group changed", "cluster.lease_ttl changed"}
	var out, errb bytes.Buffer
	creds := mapEnv(map[string]string{"JAGAD_URL": od.base, "JAGAD_USER": "admin", "JAGAD_PASSWORD": env["JAGAD_ADMIN_PASS"]})
	code := runPlan([]string{"-f", "-"}, strings.NewReader(changed), &out, &errb, creds)
	if code != planChanges {
		t.Fatalf("jagad plan: exit %d, stderr %s", code, errb.String())
	}
	for _, want := range []string{`+ create storage "more"`, "! needs restart: cluster.group changed", "! needs restart: cluster.lease_ttl changed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("jagad plan says\n%s\nwant a line %q", out.String(), want)
		}
	}

	writeFile(t, cfg, changed)
	var reloaded struct {
		NeedsRestart []string `json:"needs_restart"`
		Summary      string   `json:"summary"`
	}
	if err := json.Unmarshal(od.api("POST", "/api/config/reload", nil, http.StatusOK), &reloaded); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(reloaded.NeedsRestart, wantNotes) || !strings.Contains(reloaded.Summary, "1 create") {
		t.Errorf("reload answered needs_restart %v, summary %q; want %v and the storage created", reloaded.NeedsRestart, reloaded.Summary, wantNotes)
	}
	if err := json.Unmarshal(od.api("GET", "/api/config/status", nil, http.StatusOK), &st); err != nil || !slices.Equal(st.NeedsRestart, wantNotes) {
		t.Errorf("config status after the reload: needs_restart %v (%v), want %v", st.NeedsRestart, err, wantNotes)
	}
	if ps := string(od.api("GET", "/api/storage-providers", nil, http.StatusOK)); !strings.Contains(ps, `"more"`) {
		t.Errorf("the rest of the file was not applied: storage providers %s", ps)
	}
	members, err := srv.Client().Get(t.Context(), "/jagad/jagad-test/members/m0")
	if err != nil || len(members.Kvs) != 1 {
		t.Errorf("m0 left the group it started in after the reload: %v %v", members, err)
	}
}
