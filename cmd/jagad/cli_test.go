package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// noEnv is an empty environment.
func noEnv(string) (string, bool) { return "", false }

// TestValidateExamples: `jagad validate` and `jagad validate --strict` pass
// on every jagad.yaml in examples/ (no literal secrets; unset variables stay
// warnings without --resolve).
func TestValidateExamples(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(files) < 2 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			for _, args := range [][]string{{"validate", "-f", f}, {"validate", "--strict", "-f", f}} {
				var out, errOut bytes.Buffer
				if code := run(args, nil, &out, &errOut, noEnv); code != 0 {
					t.Fatalf("%v: exit %d\n%s%s", args, code, out.String(), errOut.String())
				}
				if !strings.Contains(out.String(), "OK") {
					t.Fatalf("%v printed no OK summary:\n%s", args, out.String())
				}
			}
		})
	}
}

// TestValidateBadFileExitsOne: an invalid file exits 1 with FILE:LINE:COL.
func TestValidateBadFileExitsOne(t *testing.T) {
	f := filepath.Join(t.TempDir(), "jagad.yaml")
	writeFile(t, f, "version: 1\nconnections:\n  - name: a\n    db_type: oracle\n")
	var out, errOut bytes.Buffer
	if code := run([]string{"validate", "-f", f}, nil, &out, &errOut, noEnv); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out.String())
	}
	if !strings.Contains(out.String()+errOut.String(), f+":4:") {
		t.Fatalf("no FILE:LINE position in:\n%s%s", out.String(), errOut.String())
	}
}

func TestVersionAndUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"version"}, nil, &out, &errOut, noEnv); code != 0 || !strings.HasPrefix(out.String(), "jagad ") {
		t.Fatalf("version: %d %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"frobnicate"}, nil, &out, &errOut, noEnv); code != 2 || !strings.Contains(errOut.String(), "unknown command") {
		t.Fatalf("unknown command: %d %q", code, errOut.String())
	}
}

func TestVersionFlag(t *testing.T) {
	for _, a := range []string{"--version", "-v"} {
		var out, errOut bytes.Buffer
		if code := run([]string{a}, nil, &out, &errOut, noEnv); code != 0 || !strings.HasPrefix(out.String(), "jagad ") {
			t.Fatalf("%s: exit %d, out %q, err %q", a, code, out.String(), errOut.String())
		}
	}
}

// TestSecondServeOnSameDataDir: a second `jagad serve` on a data dir in use
// exits non-zero with a message about the lock.
func TestSecondServeOnSameDataDir(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"JAGAD_DATA_DIR": dir, "JAGAD_LISTEN": "127.0.0.1:0", "JAGAD_ADMIN_PASS": "first-secret"}
	startObsDaemon(t, env)
	var out, errOut bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code := run([]string{"serve"}, nil, &out, &errOut, lookup)
	if code == 0 {
		t.Fatal("second serve on the same data dir exited 0")
	}
	if !strings.Contains(errOut.String(), "locked by another jagad process") || !strings.Contains(errOut.String(), dir) {
		t.Fatalf("error does not explain the lock:\n%s", errOut.String())
	}
}

// TestJSONLogDurationsInSeconds: with --log-format json a time.Duration
// attribute is a number of seconds under KEY_seconds (also inside groups);
// text logs keep Go's "1.5s".
func TestJSONLogDurationsInSeconds(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger(&buf, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("done", "duration", 1500*time.Millisecond, "timeout_seconds", 2*time.Minute,
		slog.Group("job", "wait", 250*time.Microsecond), "count", 3)
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	want := map[string]any{"duration_seconds": 1.5, "timeout_seconds": 120.0, "count": 3.0}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v (%s)", k, got[k], v, buf.String())
		}
	}
	if job, _ := got["job"].(map[string]any); job["wait_seconds"] != 0.00025 {
		t.Errorf("job.wait_seconds = %#v, want 0.00025 (%s)", job["wait_seconds"], buf.String())
	}
	if _, ok := got["duration"]; ok {
		t.Errorf("nanosecond duration still logged: %s", buf.String())
	}

	buf.Reset()
	if log, err = newLogger(&buf, "info", "text"); err != nil {
		t.Fatal(err)
	}
	log.Info("done", "duration", 1500*time.Millisecond)
	if !strings.Contains(buf.String(), "duration=1.5s") {
		t.Errorf("text log changed: %s", buf.String())
	}
}

// singleDashLong finds a long flag written with one dash ("-data-dir"), the
// flag package's style, in help text that should read "--data-dir".
func singleDashLong(s string) string {
	for _, w := range strings.Fields(s) {
		w = strings.TrimLeft(w, "[(|")
		if len(w) > 2 && w[0] == '-' && w[1] >= 'a' && w[1] <= 'z' && w[2] >= 'a' && w[2] <= 'z' {
			return w
		}
	}
	return ""
}

// TestHelpAndUsageExitCodes: for the top level and every subcommand, -h and
// --help print a usage (with --flag style) on stdout and exit 0; a usage
// error (unknown flag, stray argument, missing subcommand) exits 2 with a
// message on stderr. `jagad plan` keeps 2 for "changes", so its usage errors
// exit 1.
func TestHelpAndUsageExitCodes(t *testing.T) {
	commands := [][]string{
		{}, {"help"}, {"serve"}, {"daemon"}, {"validate"}, {"plan"}, {"keygen"}, {"decrypt"}, {"restore"},
		{"catalog"}, {"catalog", "rebuild"}, {"catalog", "list"}, {"admin"}, {"admin", "reset-password"}, {"version"},
	}
	for _, cmd := range commands {
		for _, h := range []string{"--help", "-h"} {
			args := append(append([]string{}, cmd...), h)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				var out, errOut bytes.Buffer
				code := run(args, strings.NewReader(""), &out, &errOut, noEnv)
				if code != 0 {
					t.Fatalf("exit %d, want 0\nstdout: %s\nstderr: %s", code, out.String(), errOut.String())
				}
				if !strings.Contains(out.String(), "Usage") || errOut.Len() != 0 {
					t.Errorf("want the usage on stdout and nothing on stderr\nstdout: %s\nstderr: %s", out.String(), errOut.String())
				}
				if w := singleDashLong(out.String()); w != "" {
					t.Errorf("help shows %q: want --flag style\n%s", w, out.String())
				}
			})
		}
	}
	t.Run("help COMMAND", func(t *testing.T) {
		var out, errOut bytes.Buffer
		if code := run([]string{"help", "admin"}, nil, &out, &errOut, noEnv); code != 0 || !strings.Contains(out.String(), "reset-password") {
			t.Errorf("exit %d: %s%s", code, out.String(), errOut.String())
		}
	})

	usageErrors := []struct {
		args []string
		want int
	}{
		{[]string{"frobnicate"}, 2},
		{[]string{"--no-such-flag"}, 2}, // the default command is serve
		{[]string{"serve", "--no-such-flag"}, 2},
		{[]string{"serve", "extra"}, 2},
		{[]string{"serve", "--log-level", "loud"}, 2},
		{[]string{"validate", "--no-such-flag"}, 2},
		{[]string{"validate", "a.yaml", "b.yaml"}, 2},
		{[]string{"plan", "--no-such-flag"}, 1},
		{[]string{"keygen", "--no-such-flag"}, 2},
		{[]string{"keygen", "extra"}, 2},
		{[]string{"decrypt", "--no-such-flag"}, 2},
		{[]string{"decrypt", "extra"}, 2},
		{[]string{"restore", "--no-such-flag"}, 2},
		{[]string{"restore"}, 2},
		{[]string{"catalog"}, 2},
		{[]string{"catalog", "frob"}, 2},
		{[]string{"catalog", "list", "--no-such-flag"}, 2},
		{[]string{"catalog", "list"}, 2}, // --storage-type is required
		{[]string{"admin"}, 2},
		{[]string{"admin", "frob"}, 2},
		{[]string{"admin", "reset-password", "--no-such-flag"}, 2},
		{[]string{"admin", "reset-password", "new-password-in-argv"}, 2},
		{[]string{"version", "extra"}, 2},
	}
	for _, c := range usageErrors {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(c.args, strings.NewReader(""), &out, &errOut, noEnv)
			if code != c.want {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.want, out.String(), errOut.String())
			}
			if errOut.Len() == 0 {
				t.Error("no message on stderr")
			}
		})
	}
}

// TestValidateStdin: `jagad validate -f -` reads the document from stdin,
// as `jagad plan -f -` does, and names it <stdin> in diagnostics.
func TestValidateStdin(t *testing.T) {
	good, err := os.ReadFile("../../examples/jagad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, stdin string
		want        int
		wantOut     string
	}{
		{"valid", string(good), 0, "<stdin>: OK"},
		{"invalid", "version: 1\nconnections:\n  - name: a\n    db_type: oracle\n", 1, "<stdin>:4:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run([]string{"validate", "-f", "-"}, strings.NewReader(tt.stdin), &out, &errOut, noEnv)
			if code != tt.want || !strings.Contains(out.String(), tt.wantOut) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s%s", code, tt.want, tt.wantOut, out.String(), errOut.String())
			}
		})
	}
}
