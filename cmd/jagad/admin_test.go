package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeGeneratedAdminPassword: a daemon started without
// JAGAD_ADMIN_PASS writes the generated password to <data_dir>/admin-password
// (0600), names that file in the log and never the password (JSON logs), and
// the password logs in.
func TestServeGeneratedAdminPassword(t *testing.T) {
	dir := t.TempDir()
	od := startObsDaemon(t, map[string]string{"JAGAD_DATA_DIR": dir, "JAGAD_LISTEN": "127.0.0.1:0", "JAGAD_LOG_FORMAT": "json"})
	pwFile := filepath.Join(dir, "admin-password")
	fi, err := os.Stat(pwFile)
	if err != nil {
		t.Fatalf("no admin password file: %v\n%s", err, od.logs)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("admin password file mode %o, want 600", fi.Mode().Perm())
	}
	b, err := os.ReadFile(pwFile)
	if err != nil {
		t.Fatal(err)
	}
	pass := strings.TrimSpace(string(b))
	od.login("admin", pass)
	if strings.Contains(od.logs.String(), pass) {
		t.Errorf("the generated password is in the log:\n%s", od.logs)
	}
	if !strings.Contains(od.logs.String(), pwFile) {
		t.Errorf("the log does not name %s:\n%s", pwFile, od.logs)
	}
}

// TestAdminResetPassword: reset-password refuses a running daemon's data
// dir with a clear message; with the daemon stopped it sets the password
// read from stdin, the old sessions and password stop working, the new one
// logs in, and a still-set JAGAD_ADMIN_PASS is reported as ignored.
func TestAdminResetPassword(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"JAGAD_DATA_DIR": dir, "JAGAD_LISTEN": "127.0.0.1:0", "JAGAD_ADMIN_PASS": "first-secret"}
	od := startObsDaemon(t, env)
	od.login("admin", "first-secret")
	oldToken := od.token

	reset := func(stdin string, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(append([]string{"admin", "reset-password", "--data-dir", dir}, args...),
			strings.NewReader(stdin), &out, &errOut, mapEnv(nil))
		return code, out.String(), errOut.String()
	}
	code, _, errOut := reset("second-secret\n")
	if code != 1 || !strings.Contains(errOut, "running jagad") || !strings.Contains(errOut, "stop the daemon") {
		t.Fatalf("reset against a running daemon: exit %d, stderr %q", code, errOut)
	}
	od.stop()

	if code, _, errOut := reset(""); code != 1 || !strings.Contains(errOut, "no password on standard input") {
		t.Errorf("empty stdin: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := reset("short\n"); code != 1 || !strings.Contains(errOut, "at least 6") {
		t.Errorf("short password: exit %d, stderr %q", code, errOut)
	}
	code, out, errOut := reset("second-secret\n")
	if code != 0 || !strings.Contains(out, "reset") {
		t.Fatalf("reset: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, "second-secret") {
		t.Errorf("the password was echoed: %q %q", out, errOut)
	}

	od = startObsDaemon(t, env) // JAGAD_ADMIN_PASS=first-secret is still set
	if c, _ := od.do("GET", "/api/auth/check", oldToken, nil); c != http.StatusUnauthorized {
		t.Errorf("a session from before the reset: status %d, want 401", c)
	}
	if c, _ := od.do("POST", "/api/auth/login", "", map[string]string{"username": "admin", "password": "first-secret"}); c != http.StatusUnauthorized {
		t.Errorf("old password: status %d, want 401", c)
	}
	od.login("admin", "second-secret")
	if logs := od.logs.String(); !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "JAGAD_ADMIN_PASS is ignored") {
		t.Errorf("no warning that JAGAD_ADMIN_PASS is ignored:\n%s", logs)
	}
}

// TestAdminResetPasswordGenerate: --generate writes the new password to a
// 0600 file, prints only its path, and the password is in force.
func TestAdminResetPasswordGenerate(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"JAGAD_DATA_DIR": dir, "JAGAD_LISTEN": "127.0.0.1:0", "JAGAD_ADMIN_PASS": "first-secret"}
	startObsDaemon(t, env).stop()
	var out, errOut bytes.Buffer
	if code := run([]string{"admin", "reset-password", "--generate", "--data-dir", dir}, nil, &out, &errOut, mapEnv(nil)); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	pwFile := filepath.Join(dir, "admin-password")
	b, err := os.ReadFile(pwFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(pwFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %o, want 600", fi.Mode().Perm())
	}
	pass := strings.TrimSpace(string(b))
	if !strings.Contains(out.String(), pwFile) || strings.Contains(out.String()+errOut.String(), pass) {
		t.Errorf("output must name the file, not the password: %q %q", out.String(), errOut.String())
	}
	startObsDaemon(t, env).login("admin", pass)
}

// TestAdminResetPasswordNotADataDir: a directory without a store is refused
// before anything is created in it.
func TestAdminResetPasswordNotADataDir(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	code := run([]string{"admin", "reset-password", "--data-dir", dir}, strings.NewReader("second-secret\n"), &out, &errOut, mapEnv(nil))
	if code != 1 || !strings.Contains(errOut.String(), "not a jagad data dir") {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("created %v in a directory that is not a data dir", entries)
	}
}
