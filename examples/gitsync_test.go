package examples

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// gitSyncConfig is a jagad.yaml with the schedules named.
func gitSyncConfig(backupDir string, schedules ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nstorage:\n  - name: local\n    provider_type: local\n    path: %s\n    is_default: true\n", backupDir)
	b.WriteString("connections:\n  - name: db\n    db_type: postgresql\n    host: 127.0.0.1\n    username: postgres\n")
	b.WriteString("schedules:\n")
	for _, s := range schedules {
		fmt.Fprintf(&b, "  - name: %s\n    connection: db\n    database: postgres\n    cron_expr: \"@daily\"\n", s)
	}
	return b.String()
}

// gitSyncPublish does what git-sync v4 does on a new commit: check the
// commit out into ROOT/.worktrees/HASH, point a temporary symlink at it
// (relative), rename it over the link, then remove the previous worktree
// (--stale-worktree-timeout 0, the default).
func gitSyncPublish(t *testing.T, root, link, hash, config string) {
	t.Helper()
	wt := filepath.Join(root, ".worktrees", hash)
	if err := os.MkdirAll(wt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(wt, "jagad.yaml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	linkPath := filepath.Join(root, link)
	old, _ := os.Readlink(linkPath)
	tmp := filepath.Join(root, "tmp-link")
	if err := os.Symlink(filepath.Join(".worktrees", hash), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, linkPath); err != nil {
		t.Fatal(err)
	}
	if old != "" {
		if err := os.RemoveAll(filepath.Join(root, old)); err != nil {
			t.Fatal(err)
		}
	}
}

type daemon struct {
	base  string
	token string
	log   *bytes.Buffer
}

func (d daemon) get(t *testing.T, path string, v any) {
	t.Helper()
	req, err := http.NewRequest("GET", d.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s %s", path, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// startJagad starts `jagad serve` on a free loopback port with configPath
// and waits for /readyz, then logs in.
func startJagad(t *testing.T, configPath string) daemon {
	t.Helper()
	bin := buildJagad(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	const pass = "gitsync-test-password"
	cmd := exec.Command(bin, "serve")
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"JAGAD_CONFIG=" + configPath, "JAGAD_DATA_DIR=" + t.TempDir(), "JAGAD_LISTEN=" + addr,
		"JAGAD_ADMIN_PASS=" + pass, "JAGAD_MASTER_KEY=gitsync-test-master-key",
	}
	log := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", log.String())
		}
	})
	d := daemon{base: "http://" + addr, log: log}
	waitFor(t, "the daemon to be ready", func() bool {
		select {
		case <-exited:
			t.Fatalf("jagad serve exited:\n%s", log.String())
		default:
		}
		resp, err := http.Get(d.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	body, _ := json.Marshal(map[string]string{"username": "admin", "password": pass})
	resp, err := http.Post(d.base+"/api/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var login struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&login); err != nil || login.Token == "" {
		t.Fatalf("login: %s %v", resp.Status, err)
	}
	d.token = login.Token
	return d
}

// waitFor polls cond until it holds. The bound is generous on purpose (a
// loaded machine); it only turns a hang into a failure.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func scheduleNames(t *testing.T, d daemon) []string {
	t.Helper()
	var list []struct {
		Name string `json:"name"`
	}
	d.get(t, "/api/schedules", &list)
	var names []string
	for _, s := range list {
		names = append(names, s.Name)
	}
	return names
}

// TestGitSyncSwapIsFollowed: the Kubernetes example's claim, end to end with
// the real daemon. JAGAD_CONFIG points under a git-sync link; each publish
// (new worktree, symlink renamed over the link, old worktree removed) is
// applied by the file watch — twice, so the watch survives losing its
// directory — well before the 5-minute resync could have done it.
func TestGitSyncSwapIsFollowed(t *testing.T) {
	root := t.TempDir()
	backups := t.TempDir()
	gitSyncPublish(t, root, "config", "aaaa", gitSyncConfig(backups, "first"))
	d := startJagad(t, filepath.Join(root, "config", "jagad.yaml"))

	var status struct {
		Generation int64  `json:"generation"`
		FileDigest string `json:"file_digest"`
		Healthy    bool   `json:"healthy"`
		LastError  string `json:"last_error"`
	}
	d.get(t, "/api/config/status", &status)
	if !status.Healthy || status.Generation < 1 {
		t.Fatalf("initial config status %+v", status)
	}
	start := time.Now()
	for i, step := range []struct {
		hash      string
		schedules []string
	}{
		{"bbbb", []string{"first", "second"}},
		{"cccc", []string{"first", "second", "third"}},
	} {
		before, published := status.Generation, time.Now()
		gitSyncPublish(t, root, "config", step.hash, gitSyncConfig(backups, step.schedules...))
		waitFor(t, fmt.Sprintf("publish %d (%s) to be applied", i+1, step.hash), func() bool {
			d.get(t, "/api/config/status", &status)
			return status.Generation > before
		})
		t.Logf("publish %s applied after %v", step.hash, time.Since(published).Round(10*time.Millisecond))
		if !status.Healthy || status.LastError != "" {
			t.Fatalf("after publish %s: %+v", step.hash, status)
		}
		if got := strings.Join(scheduleNames(t, d), ","); !sameSet(got, strings.Join(step.schedules, ",")) {
			t.Fatalf("after publish %s: schedules %s, want %v", step.hash, got, step.schedules)
		}
	}
	if took := time.Since(start); took > 4*time.Minute {
		t.Fatalf("the publishes took %v: that is the resync, not the watch", took)
	}
}

func sameSet(a, b string) bool {
	x, y := strings.Split(a, ","), strings.Split(b, ",")
	if len(x) != len(y) {
		return false
	}
	seen := map[string]bool{}
	for _, s := range x {
		seen[s] = true
	}
	for _, s := range y {
		if !seen[s] {
			return false
		}
	}
	return true
}
