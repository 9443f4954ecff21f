package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/config"
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
	logs.Reset()
	w.check(&config.File{})
	if !strings.Contains(logs.String(), "section removed") {
		t.Errorf("a removed section was reported as %q", logs.String())
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
