package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
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
	if code := run([]string{"frobnicate"}, nil, &out, &errOut, noEnv); code != 1 || !strings.Contains(errOut.String(), "unknown command") {
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
