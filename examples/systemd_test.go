package examples

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const unitPath = "systemd/jagad.service"

// unitDirectives parses a unit file into section.Key → values (in order).
func unitDirectives(t *testing.T, data []byte) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("unit line %q is not KEY=VALUE", line)
			}
			out[section+"."+strings.TrimSpace(k)] = append(out[section+"."+strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	return out
}

// TestSystemdUnitHardening: the unit runs as a dedicated user with the
// hardening the README promises, reads secrets from an EnvironmentFile, and
// reloads with SIGHUP, which the daemon handles (cmd/jagad/serve.go).
func TestSystemdUnitHardening(t *testing.T) {
	d := unitDirectives(t, readFile(t, unitPath))
	want := map[string]string{
		"Service.ProtectSystem":   "strict",
		"Service.ReadWritePaths":  "/var/lib/jagad",
		"Service.NoNewPrivileges": "yes",
		"Service.PrivateTmp":      "yes",
		"Service.ExecReload":      "/bin/kill -HUP $MAINPID",
		"Service.ExecStart":       "/usr/local/bin/jagad serve",
		"Service.User":            "jagad",
	}
	for k, v := range want {
		if got := d[k]; !slices.Contains(got, v) {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if len(d["Service.EnvironmentFile"]) == 0 {
		t.Error("no EnvironmentFile for the secrets")
	}
	for _, env := range d["Service.Environment"] {
		for _, secret := range []string{"JAGAD_ADMIN_PASS", "JAGAD_MASTER_KEY", "JAGAD_ENCRYPTION_KEY", "JAGAD_METRICS_TOKEN"} {
			if strings.Contains(env, secret) {
				t.Errorf("secret %s set in the unit (Environment=%s): it belongs in the EnvironmentFile", secret, env)
			}
		}
	}
	serve := readFile(t, "../cmd/jagad/serve.go")
	if !bytes.Contains(serve, []byte("syscall.SIGHUP")) || !bytes.Contains(serve, []byte(`Trigger("sighup")`)) {
		t.Error("cmd/jagad/serve.go no longer reloads on SIGHUP: ExecReload would kill the daemon")
	}
	// The sysusers entry creates the unit's user.
	if users := string(readFile(t, "systemd/jagad.sysusers")); !strings.Contains(users, "\nu jagad ") {
		t.Errorf("systemd/jagad.sysusers does not create user jagad:\n%s", users)
	}
}

// verifyUnit runs `systemd-analyze verify` on unit (its ExecStart pointed at
// an existing binary) and returns what it printed; an error exit counts too.
// systemd-analyze exits 0 on unknown keys and bad values, so any output is a
// finding.
func verifyUnit(t *testing.T, unit []byte, binary string) string {
	t.Helper()
	dir := t.TempDir()
	unit = bytes.ReplaceAll(unit, []byte("/usr/local/bin/jagad"), []byte(binary))
	path := filepath.Join(dir, "jagad.service")
	if err := os.WriteFile(path, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("systemd-analyze", "verify", path)
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_COLOR=0", "SYSTEMD_PAGER=")
	out, err := cmd.CombinedOutput()
	s := strings.TrimSpace(string(out))
	if err != nil {
		s += "\n" + err.Error()
	}
	return strings.TrimSpace(s)
}

func needSystemdAnalyze(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze not found (Debian package systemd; .ci/services.sh installs it)")
		}
		t.Skip("systemd-analyze not found (Debian package systemd)")
	}
}

// TestSystemdUnitVerifies: `systemd-analyze verify` accepts the unit without
// a word, with ExecStart pointing at a real jagad binary.
func TestSystemdUnitVerifies(t *testing.T) {
	needSystemdAnalyze(t)
	bin := buildJagad(t)
	if out := verifyUnit(t, readFile(t, unitPath), bin); out != "" {
		t.Fatalf("systemd-analyze verify %s:\n%s", unitPath, out)
	}
}

// TestSystemdVerifyBites: the same check reports an unknown directive, a bad
// value and a missing binary.
func TestSystemdVerifyBites(t *testing.T) {
	needSystemdAnalyze(t)
	bin := buildJagad(t)
	unit := readFile(t, unitPath)
	for name, bad := range map[string][]byte{
		"unknown key": bytes.Replace(unit, []byte("PrivateTmp=yes"), []byte("PrivateTemp=yes"), 1),
		"bad value":   bytes.Replace(unit, []byte("ProtectSystem=strict"), []byte("ProtectSystem=very"), 1),
	} {
		if out := verifyUnit(t, bad, bin); out == "" {
			t.Errorf("%s: systemd-analyze verify said nothing", name)
		}
	}
	if out := verifyUnit(t, unit, filepath.Join(t.TempDir(), "no-such-jagad")); out == "" {
		t.Error("missing binary: systemd-analyze verify said nothing")
	}
}
