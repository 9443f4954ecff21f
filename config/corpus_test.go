package config

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/bad/*.want from the current diagnostics")

// testEnv is the only environment the corpus sees.
func testEnv(name string) (string, bool) {
	env := map[string]string{
		"JAGAD_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		"PG_PASSWORD":          "pw: with # and colon",
		"PROD_PG_PASSWORD":     "pw: with # and colon",
		"PG_PORT":              "6543",
		"TG_TOKEN":             "123:abc",
		"SLACK_URL":            "https://hooks.slack.com/services/x",
		"DISCORD_URL":          "https://discord.com/api/webhooks/1/x",
		"HOOK_URL":             "https://hooks.example.com/jagad",
		"PD_KEY":               "pd",
		"OLD_KEY":              "an old passphrase for k1",
		"R2_KEY":               "r2-access",
		"R2_SECRET":            "r2-secret",
		"SMTP_PASSWORD":        "smtp-pw",
		"HOOK_TOKEN":           "hook-token",
		"AWS_ACCESS_KEY_ID":    "AKIAEXAMPLE",
		"EMPTY":                "",
	}
	v, ok := env[name]
	return v, ok
}

// diagLine renders a diagnostic without its file name: "LINE:COL: message".
func diagLine(d Diagnostic) string {
	s := d.String()
	return strings.TrimPrefix(s, d.File+":")
}

func TestBadCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 35 {
		t.Fatalf("corpus has %d files, want at least 35", len(files))
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			f, rep := Load(path, Options{LookupEnv: testEnv, Resolve: true})
			if f != nil || !rep.HasErrors() || rep.Err() == nil {
				t.Fatalf("file accepted; diagnostics: %v", rep.Diagnostics)
			}
			got := make([]string, len(rep.Diagnostics))
			for i, d := range rep.Diagnostics {
				if d.File != path {
					t.Errorf("diagnostic file = %q, want %q", d.File, path)
				}
				got[i] = diagLine(d)
			}
			wantPath := strings.TrimSuffix(path, ".yaml") + ".want"
			if *update {
				if err := os.WriteFile(wantPath, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			compareWant(t, wantPath, got)
		})
	}
}

// compareWant checks got against the want file: same number of lines, and
// each diagnostic has the want line's LINE:COL and contains its message.
func compareWant(t *testing.T, wantPath string, got []string) {
	t.Helper()
	data, err := os.ReadFile(wantPath)
	if err != nil {
		t.Fatalf("read want file (run with -update to create it): %v", err)
	}
	var want []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			want = append(want, l)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("got %d diagnostics, want %d:\n got: %s\nwant: %s", len(got), len(want),
			strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
	for i := range want {
		var line, col int
		var msg string
		if n, err := fmt.Sscanf(want[i], "%d:%d:", &line, &col); n != 2 || err != nil {
			t.Fatalf("malformed want line %q", want[i])
		}
		pos := fmt.Sprintf("%d:%d: ", line, col)
		msg = strings.TrimPrefix(want[i], pos)
		if !strings.HasPrefix(got[i], pos) || !strings.Contains(got[i], msg) {
			t.Errorf("diagnostic %d = %q, want %q", i, got[i], want[i])
		}
	}
}
