package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const cmdFile = `version: 1
connections:
  - {name: pg, db_type: postgresql, host: h, password: "${PG_PASS}"}
  - {name: my, db_type: mysql, host: h, password: literal}
storage:
  - {name: disk, provider_type: local, path: /srv/b, is_default: true}
notifications:
  - {name: n, type: slack, config: {webhook_url: "${SLACK_URL}"}}
schedules:
  - {name: a, connection: pg, database: app, cron_expr: "@daily"}
  - {name: b, connection: my, database: app, cron_expr: "0 3 * * 0"}
`

func TestRunValidate(t *testing.T) {
	dir := t.TempDir()
	good := writeConfig(t, dir, "jagad.yaml", cmdFile)
	bad := writeConfig(t, dir, "bad.yaml", "version: 1\nconnections:\n  - {name: pg, db_type: oracle, host: h}\nfoo: 1\n")
	full := map[string]string{"PG_PASS": "x", "SLACK_URL": "https://hooks.slack.com/x"}
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		stdin    string
		wantCode int
		wantOut  []string
	}{
		{"ok with warnings", []string{"-f", good}, full, "", 0, []string{
			good + ":4:51: warning: literal secret in connections[1].password",
			good + ": OK (2 connections, 1 storage, 1 notification, 2 schedules; 1 warning)"}},
		{"strict fails on warnings", []string{"--config", good, "--strict"}, full, "", 1, []string{
			good + ":4:51: literal secret in connections[1].password",
			good + ": INVALID (1 error)"}},
		{"unresolved is a warning", []string{"-f", good}, nil, "", 0, []string{
			good + ":3:56: warning: connections[0].password: unresolved reference: environment variable PG_PASS is not set",
			"environment variable SLACK_URL is not set",
			"; 3 warnings)"}},
		{"strict keeps unresolved a warning", []string{"--strict", "-f", good}, nil, "", 1, []string{
			good + ":3:56: warning: connections[0].password: unresolved reference: environment variable PG_PASS is not set",
			good + ":4:51: literal secret in connections[1].password",
			good + ": INVALID (1 error, 2 warnings)"}},
		{"unresolved is an error with --resolve", []string{"--resolve", "-f", good}, nil, "", 1, []string{
			good + ":3:56: connections[0].password: unresolved reference: environment variable PG_PASS is not set",
			good + ": INVALID (2 errors, 1 warning)"}},
		{"resolve passes when set", []string{"--resolve", good}, full, "", 0, []string{": OK ("}},
		{"errors", []string{"-f", bad}, nil, "", 1, []string{
			bad + `:3:25: connection "pg": db_type: unknown value "oracle"`,
			bad + `:4:1: unknown field "foo" in top level`,
			bad + ": INVALID (2 errors)"}},
		{"JAGAD_CONFIG", nil, map[string]string{"JAGAD_CONFIG": bad}, "", 1, []string{bad + ": INVALID"}},
		{"missing file", []string{"-f", filepath.Join(dir, "nope.yaml")}, nil, "", 1, []string{"nope.yaml:1:1: cannot read config file"}},
		{"stdin ok", []string{"-f", "-"}, full, cmdFile, 0, []string{
			"<stdin>:4:51: warning: literal secret in connections[1].password",
			"<stdin>: OK (2 connections, 1 storage, 1 notification, 2 schedules; 1 warning)"}},
		{"stdin positional", []string{"--strict", "-"}, full, cmdFile, 1, []string{"<stdin>: INVALID (1 error)"}},
		{"stdin invalid", []string{"--config", "-"}, nil, "version: 1\nconnections:\n  - {name: pg, db_type: oracle, host: h}\n", 1, []string{
			"<stdin>:3:", "<stdin>: INVALID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runValidate(tt.args, strings.NewReader(tt.stdin), &stdout, &stderr, mapEnv(tt.env))
			if code != tt.wantCode {
				t.Errorf("exit = %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, stdout.String(), stderr.String())
			}
			out := stdout.String()
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestRunValidateDefaultFileAndUsage(t *testing.T) {
	dir := t.TempDir()
	writeConfig(t, dir, "jagad.yaml", cmdFile)
	t.Chdir(dir)
	var out, errOut bytes.Buffer
	if code := runValidate(nil, nil, &out, &errOut, mapEnv(nil)); code != 0 || !strings.HasPrefix(out.String(), "jagad.yaml:") {
		t.Errorf("default file: exit %d, out %q", code, out.String())
	}
	out.Reset()
	if code := runValidate([]string{"--bogus"}, nil, &out, &errOut, mapEnv(nil)); code != 2 || !strings.Contains(errOut.String(), "jagad validate --help") {
		t.Errorf("bad flag: exit %d, stderr %q", code, errOut.String())
	}
	if code := runValidate([]string{"-f", "a.yaml", "b.yaml"}, nil, &out, &errOut, mapEnv(nil)); code != 2 {
		t.Errorf("two files: exit %d", code)
	}
}
