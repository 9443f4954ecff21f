package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// readmeCurlBlock returns the commands of the shell block with curl
// examples in README's "Two commands on a fresh machine" section
// (backslash continuations joined) and the admin password its
// `JAGAD_ADMIN_PASS=… make run` line starts the daemon with.
func readmeCurlBlock(tb testing.TB, readme string) (cmds []string, adminPass string) {
	tb.Helper()
	_, section, ok := strings.Cut(readme, "\n## Two commands on a fresh machine\n")
	if !ok {
		tb.Fatal(`README.md has no "## Two commands on a fresh machine" section`)
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1)
	var block string
	for _, b := range blocks {
		if strings.Contains(b[1], "curl ") {
			block = b[1]
		}
	}
	if block == "" {
		tb.Fatalf("no sh block with curl in the section (%d blocks)", len(blocks))
	}
	sc := bufio.NewScanner(strings.NewReader(block))
	var cur string
	for sc.Scan() {
		line := sc.Text()
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			cur += cont
			continue
		}
		cur += line
		if cmd := strings.TrimSpace(cur); cmd != "" {
			cmds = append(cmds, cmd)
		}
		cur = ""
	}
	if len(cmds) == 0 || !strings.HasSuffix(cmds[0], " make run") {
		tb.Fatalf("the block does not start with `JAGAD_ADMIN_PASS=… make run`: %q", cmds)
	}
	m := regexp.MustCompile(`^JAGAD_ADMIN_PASS=(\S+) make run$`).FindStringSubmatch(cmds[0])
	if m == nil {
		tb.Fatalf("cannot read the admin password from %q", cmds[0])
	}
	return cmds[1:], m[1]
}

// TestREADMECurlExamples runs README's curl examples as written against a
// daemon started on examples/jagad.yaml as `make run` starts it, with only
// the port and the cookie jar's path substituted and -f added to every
// curl, so each command must succeed. The third example is a cookie write
// without a body or Content-Type, as the web UI sends.
func TestREADMECurlExamples(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if err := exec.Command("bash", "-c", "command -v "+tool).Run(); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed (CI=true): README's examples need it", tool)
			}
			t.Skipf("%s is not installed: README's curl examples cannot run", tool)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	cmds, adminPass := readmeCurlBlock(t, string(readme))
	if len(cmds) < 3 {
		t.Fatalf("want at least 3 curl commands, got %q", cmds)
	}

	dir := t.TempDir()
	cfg, err := filepath.Abs("../../examples/jagad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	od := startObsDaemon(t, map[string]string{
		"JAGAD_LISTEN":           "127.0.0.1:0",
		"JAGAD_DATA_DIR":         filepath.Join(dir, "data"),
		"JAGAD_LOCAL_BACKUP_DIR": filepath.Join(dir, "backups"),
		"JAGAD_CONFIG":           cfg,
		"JAGAD_ADMIN_PASS":       adminPass,
	})
	u, err := url.Parse(od.base)
	if err != nil {
		t.Fatal(err)
	}
	jar := filepath.Join(dir, "cookies")
	var outs []string
	for i, cmd := range cmds {
		run := strings.ReplaceAll(cmd, ":8080", ":"+u.Port())
		run = strings.ReplaceAll(run, "/tmp/j", jar)
		run = strings.ReplaceAll(run, "curl ", "curl -fS ")
		if run == cmd {
			t.Fatalf("command %d names neither port 8080 nor the cookie jar: %s", i+1, cmd)
		}
		var stdout, stderr bytes.Buffer
		c := exec.Command("bash", "-o", "pipefail", "-ec", run)
		c.Stdout, c.Stderr = &stdout, &stderr
		c.WaitDelay = 10 * time.Second
		if err := c.Run(); err != nil {
			t.Fatalf("README command %d failed (%v):\n%s\nstdout: %s\nstderr: %s", i+1, err, cmd, stdout.String(), stderr.String())
		}
		outs = append(outs, stdout.String())
	}
	// Each answered what the README implies: a login, a list with the
	// example's schedules, a triggered run.
	var login struct{ Token, User string }
	if err := json.Unmarshal([]byte(outs[0]), &login); err != nil || login.Token == "" || login.User != "admin" {
		t.Errorf("login output %q: %v", outs[0], err)
	}
	var scheds []map[string]any
	if err := json.Unmarshal([]byte(outs[1]), &scheds); err != nil || len(scheds) == 0 {
		t.Errorf("schedules output %q: %v", outs[1], err)
	}
	var run struct{ Status string }
	if err := json.Unmarshal([]byte(outs[2]), &run); err != nil || run.Status != "triggered" {
		t.Errorf("run output %q: %v", outs[2], err)
	}
}
