package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const readyGoodConfig = `version: 1
storage:
  - name: local
    provider_type: local
    path: %s
    is_default: true
`

// readyEnv is the environment of a daemon on dir; cfg "" is API-only mode.
func readyEnv(dir, cfg string) map[string]string {
	env := map[string]string{
		"JAGAD_LISTEN":     "127.0.0.1:0",
		"JAGAD_DATA_DIR":   filepath.Join(dir, "data"),
		"JAGAD_ADMIN_PASS": "ready-Admin-Pass-5120",
	}
	if cfg != "" {
		env["JAGAD_CONFIG"] = cfg
	}
	return env
}

// waitStatus polls path until it answers want, failing after 10 s.
func (od *obsDaemon) waitStatus(path string, want int) {
	od.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := od.do("GET", path, "", nil)
		if code == want {
			return
		}
		if time.Now().After(deadline) {
			od.t.Fatalf("GET %s = %d %s, want %d", path, code, body, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReadyOnlyWithConfigInForce: a daemon whose file is broken on a fresh
// data dir runs no configuration, so /readyz and /api/health answer 503
// until the file is fixed; a last good config restored from the data dir
// counts as in force, and API-only mode is ready at once.
func TestReadyOnlyWithConfigInForce(t *testing.T) {
	const broken = "version: 1\nstorage:\n  - name: local\n    provider_type: nowhere\n"
	t.Run("broken file on a fresh data dir, then fixed", func(t *testing.T) {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "jagad.yaml")
		writeFile(t, cfg, broken)
		od := startObsDaemon(t, readyEnv(dir, cfg))
		for _, path := range []string{"/readyz", "/api/health"} {
			code, body := od.do("GET", path, "", nil)
			if code != http.StatusServiceUnavailable || !strings.Contains(string(body), "no valid configuration") {
				t.Errorf("GET %s with a broken file on a fresh data dir = %d %s, want 503", path, code, body)
			}
		}
		if code, _ := od.do("GET", "/livez", "", nil); code != http.StatusOK {
			t.Errorf("/livez = %d, want 200", code)
		}
		writeFile(t, cfg, strings.Replace(readyGoodConfig, "%s", filepath.Join(dir, "backups"), 1))
		od.waitStatus("/readyz", http.StatusOK)
		od.waitStatus("/api/health", http.StatusOK)
	})
	t.Run("broken file, last good config in the data dir", func(t *testing.T) {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "jagad.yaml")
		writeFile(t, cfg, strings.Replace(readyGoodConfig, "%s", filepath.Join(dir, "backups"), 1))
		first := startObsDaemon(t, readyEnv(dir, cfg))
		first.waitStatus("/readyz", http.StatusOK)
		first.stop()
		writeFile(t, cfg, broken)
		od := startObsDaemon(t, readyEnv(dir, cfg))
		if code, body := od.do("GET", "/readyz", "", nil); code != http.StatusOK {
			t.Errorf("/readyz on the restored last good config = %d %s, want 200", code, body)
		}
	})
	t.Run("API-only mode", func(t *testing.T) {
		od := startObsDaemon(t, readyEnv(t.TempDir(), ""))
		if code, body := od.do("GET", "/readyz", "", nil); code != http.StatusOK {
			t.Errorf("/readyz in API-only mode = %d %s, want 200", code, body)
		}
	})
}
