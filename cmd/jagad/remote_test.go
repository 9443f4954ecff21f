package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/dbtest"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files of the CLI tests (testdata/golden)")

// cliConfig is the daemon's jagad.yaml for the CLI tests: %[1]s backups
// dir, %[2]s host, %[3]d port, %[4]s user, %[5]s database.
const cliConfig = `version: 1
settings:
  timezone: UTC
storage:
  - name: local
    provider_type: local
    path: %[1]s
connections:
  - name: pg
    db_type: postgresql
    host: %[2]s
    port: %[3]d
    username: %[4]s
    password: ${CLI_PG_PASSWORD}
    ssl_mode: disable
    databases: [%[5]s]
schedules:
  - name: nightly
    connection: pg
    database: %[5]s
    cron_expr: "0 3 * * *"
    encryption_enabled: false
  - name: broken
    connection: pg
    database: jagad_cli_no_such_db
    cron_expr: "30 3 * * *"
    encryption_enabled: false
`

// cliWorld is a daemon (serve, in process) over the test PostgreSQL and
// the jagad binary built from this package, run as a user would.
type cliWorld struct {
	od      *obsDaemon
	bin     string
	home    string // $HOME and $XDG_CONFIG_HOME of the CLI
	tmp     string
	pg      *dbtest.Server
	src     string
	adminPW string
	cfgPath string
	subs    []string // literal → placeholder replacements for golden output
}

// buildCLI builds the jagad binary into the test's temporary directory.
func buildCLI(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "jagad")
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func newCLIWorld(t *testing.T) *cliWorld {
	t.Helper()
	obsRequirePostgres(t)
	bin := buildCLI(t)
	pg := dbtest.Postgres(t)
	src := pg.CreateDB(t, "cli_src")
	pg.Exec(t, src, `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
		INSERT INTO items SELECT g, 'item-' || g FROM generate_series(1, 2000) g;`)
	tmp := t.TempDir()
	w := &cliWorld{bin: bin, pg: pg, src: src, tmp: tmp, home: filepath.Join(tmp, "home"), adminPW: "cli-admin-pass-1"}
	if err := os.MkdirAll(w.home, 0o700); err != nil {
		t.Fatal(err)
	}
	w.cfgPath = filepath.Join(tmp, "jagad.yaml")
	writeFile(t, w.cfgPath, fmt.Sprintf(cliConfig, filepath.Join(tmp, "backups"), pg.Host, pg.Port, pg.User, src))
	w.od = startObsDaemon(t, map[string]string{
		"JAGAD_LISTEN": "127.0.0.1:0", "JAGAD_DATA_DIR": filepath.Join(tmp, "data"), "JAGAD_CONFIG": w.cfgPath,
		"JAGAD_ADMIN_PASS": w.adminPW, "JAGAD_LOG_FORMAT": "json", "CLI_PG_PASSWORD": pg.Password,
	})
	w.subs = []string{w.od.base, "<SERVER>", tmp, "<TMP>", src, "<SRCDB>", fmt.Sprintf("%s:%d", pg.Host, pg.Port), "<PGADDR>",
		fmt.Sprintf(`"port": %d`, pg.Port), `"port": "<PGPORT>"`}
	return w
}

// result is one run of the binary.
type result struct {
	code           int
	stdout, stderr string
}

// run runs the binary with args; env adds to (or, with "", removes from)
// the CLI's environment: JAGAD_URL, HOME and XDG_CONFIG_HOME.
func (w *cliWorld) run(t *testing.T, stdin string, env map[string]string, args ...string) result {
	t.Helper()
	base := map[string]string{"JAGAD_URL": w.od.base, "HOME": w.home, "XDG_CONFIG_HOME": filepath.Join(w.home, ".config"),
		"PATH": os.Getenv("PATH")}
	for k, v := range env {
		base[k] = v
	}
	cmd := exec.Command(w.bin, args...)
	for k, v := range base {
		if v != "" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run jagad %v: %v", args, err)
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// ok runs the binary and wants exit 0.
func (w *cliWorld) ok(t *testing.T, args ...string) string {
	t.Helper()
	r := w.run(t, "", nil, args...)
	if r.code != 0 {
		t.Fatalf("jagad %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// golden runs args twice, for people and with --json, and compares both
// outputs (normalised) with testdata/golden/NAME.txt and NAME.json.
func (w *cliWorld) golden(t *testing.T, name string, args ...string) (human, js string) {
	t.Helper()
	human = w.ok(t, args...)
	w.compare(t, name+".txt", human)
	js = w.ok(t, append(args, "--json")...)
	if !json.Valid([]byte(js)) {
		t.Fatalf("jagad %s --json is not JSON:\n%s", strings.Join(args, " "), js)
	}
	w.compare(t, name+".json", js)
	return human, js
}

// compare checks got, normalised, against a golden file (-update rewrites it).
func (w *cliWorld) compare(t *testing.T, file, got string) {
	t.Helper()
	got = w.normalise(got)
	path := filepath.Join("testdata", "golden", file)
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (-update rewrites it)\n--- got\n%s\n--- want\n%s", file, got, want)
	}
}

var (
	reID       = regexp.MustCompile(`\b[a-z]{2,6}_[0-9a-f]{20}\b`)
	reTime     = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	reAge      = regexp.MustCompile(`\b(\d+[smhd] ago|just now|in \d+[smhd])\b`)
	reSize     = regexp.MustCompile(`\b\d+(\.\d)? (B|KiB|MiB|GiB)\b`)
	reDur      = regexp.MustCompile(`\b(\d+ms|\d+\.\ds|\d+m\d\ds)\b`)
	reSHA      = regexp.MustCompile(`\b[0-9a-f]{64}\b`)
	reSecret   = regexp.MustCompile(`jgd_[A-Za-z0-9_-]{43}`)
	reJSONNum  = regexp.MustCompile(`("[a-z_]*(bytes|_ms|size|rate|percent|generation|duration)[a-z_]*": )-?\d+(\.\d+)?`)
	reVersion  = regexp.MustCompile(`("(tool_version|server_version|version|file_digest)": )"[^"]*"`)
	reDigest   = regexp.MustCompile(`\b[0-9a-f]{16}\b`)
	reSpaces   = regexp.MustCompile(`(\S)[ ]{2,}`)
	reStamp    = regexp.MustCompile(`\b\d{8}-\d{6}\b`)
	reLogJSON  = regexp.MustCompile(`("log(_output)?": )"(\\.|[^"\\])*"`)
	reHexTail  = regexp.MustCompile(`sha256:[0-9a-f]{6,}`)
	reLogLine  = regexp.MustCompile(`(?m)^([A-Z][A-Z ]*:).*$`)
	reBigCount = regexp.MustCompile(`("(rows|tables)": )\d+`)
)

// normalise replaces what changes from run to run (IDs, times, sizes,
// paths, secrets) with placeholders. IDs become <prefix_N> numbered by
// first appearance, so a golden file still shows which IDs are the same.
// Runs of spaces (table padding, which follows the widths of what was
// replaced) become two spaces; table alignment has its own test.
func (w *cliWorld) normalise(s string) string {
	s = strings.NewReplacer(w.subs...).Replace(s)
	ids := map[string]string{}
	n := map[string]int{}
	s = reID.ReplaceAllStringFunc(s, func(id string) string {
		if p, ok := ids[id]; ok {
			return p
		}
		prefix := id[:strings.IndexByte(id, '_')]
		n[prefix]++
		ids[id] = fmt.Sprintf("<%s_%d>", prefix, n[prefix])
		return ids[id]
	})
	s = reSecret.ReplaceAllString(s, "<SECRET>")
	s = reSHA.ReplaceAllString(s, "<SHA256>")
	s = reTime.ReplaceAllString(s, "<TIME>")
	s = reAge.ReplaceAllString(s, "<AGE>")
	s = reSize.ReplaceAllString(s, "<SIZE>")
	s = reDur.ReplaceAllString(s, "<DUR>")
	s = reJSONNum.ReplaceAllString(s, "${1}<N>")
	s = reVersion.ReplaceAllString(s, `${1}"<V>"`)
	s = reDigest.ReplaceAllString(s, "<HEX>")
	s = reBigCount.ReplaceAllString(s, "${1}<N>")
	s = reStamp.ReplaceAllString(s, "<STAMP>")
	s = reLogJSON.ReplaceAllString(s, `${1}"<LOG>"`)
	s = reHexTail.ReplaceAllString(s, "sha256:<HEX>")
	s = reSpaces.ReplaceAllString(s, "$1  ")
	return s
}

// logShape keeps each log line's tag (BACKUP:, DUMP:, ...): the rest names
// tool versions and timings of this machine.
func logShape(s string) string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if m := reLogLine.FindStringSubmatch(l); m != nil {
			out = append(out, m[1])
		}
	}
	return strings.Join(out, "\n") + "\n"
}

// TestRemoteCLI walks every daemon-client command through the real binary
// against a started daemon and the test PostgreSQL, as the README's
// walk-through does; each step builds on the one before.
func TestRemoteCLI(t *testing.T) {
	w := newCLIWorld(t)
	ids := map[string]string{}
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"login", func(t *testing.T) {
			r := w.run(t, "", nil, "login", "--user", "admin")
			if r.code != exitUsage || !strings.Contains(r.stderr, "--password-stdin") {
				t.Errorf("login without a terminal nor --password-stdin: exit %d, %s", r.code, r.stderr)
			}
			r = w.run(t, "wrong-password\n", nil, "login", "--user", "admin", "--password-stdin")
			if r.code != exitFailure || !strings.Contains(r.stderr, "401") {
				t.Errorf("login with a wrong password: exit %d, %s", r.code, r.stderr)
			}
			r = w.run(t, w.adminPW+"\n", nil, "login", "--user", "admin", "--password-stdin")
			if r.code != 0 {
				t.Fatalf("login: exit %d: %s", r.code, r.stderr)
			}
			w.compare(t, "login.txt", r.stdout)
			r = w.run(t, w.adminPW+"\n", nil, "login", "--user", "admin", "--password-stdin", "--json")
			if r.code != 0 {
				t.Fatalf("login --json: exit %d: %s", r.code, r.stderr)
			}
			w.compare(t, "login.json", r.stdout)
			path := filepath.Join(w.home, ".config", "jagad", "login.json")
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
			}
			data, _ := os.ReadFile(path)
			if strings.Contains(string(data), w.adminPW) {
				t.Errorf("the saved login holds the password")
			}
		}},
		{"status", func(t *testing.T) { w.golden(t, "status-empty", "status") }},
		{"connections", func(t *testing.T) {
			w.golden(t, "connections-list", "connections", "list")
			w.golden(t, "connections-test", "connections", "test", "pg")
			human, js := w.ok(t, "connections", "discover", "pg"), w.ok(t, "connections", "discover", "pg", "--json")
			// The server holds other tests' databases too: keep the header and ours.
			var keep []string
			for _, l := range strings.Split(human, "\n") {
				if strings.HasPrefix(l, "ID ") || strings.Contains(l, w.src) {
					keep = append(keep, l)
				}
			}
			w.compare(t, "connections-discover.txt", strings.Join(keep, "\n")+"\n")
			var dbs []map[string]any
			if err := json.Unmarshal([]byte(js), &dbs); err != nil {
				t.Fatal(err)
			}
			var ours []map[string]any
			for _, d := range dbs {
				if d["db_name"] == w.src {
					ours = append(ours, d)
				}
			}
			b, _ := json.MarshalIndent(ours, "", "  ")
			w.compare(t, "connections-discover.json", string(b)+"\n")
		}},
		{"schedules", func(t *testing.T) {
			w.golden(t, "schedules-list", "schedules", "list")
			w.golden(t, "schedules-show", "schedules", "show", "nightly")
			w.golden(t, "schedules-disable", "schedules", "disable", "nightly")
			if out := w.ok(t, "schedules", "show", "nightly", "--json"); !strings.Contains(out, `"enabled": false`) {
				t.Errorf("after disable: %s", out)
			}
			w.golden(t, "schedules-enable", "schedules", "enable", "nightly")
		}},
		{"backups run --wait", func(t *testing.T) {
			r := w.run(t, "", nil, "backups", "run", "nightly", "--wait")
			if r.code != 0 {
				t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
			}
			w.compare(t, "backups-run-wait.txt", r.stdout)
			if r.stderr != "" {
				t.Errorf("stderr not a terminal, yet: %q", r.stderr)
			}
			js := w.ok(t, "backups", "run", "--connection", "pg", "--database", w.src, "--wait", "--json")
			w.compare(t, "backups-run-wait.json", js)
			var b map[string]any
			if err := json.Unmarshal([]byte(js), &b); err != nil || b["status"] != "success" {
				t.Fatalf("run --wait --json: %v %s", err, js)
			}
			ids["backup"] = b["id"].(string)
		}},
		{"backups run without --wait", func(t *testing.T) {
			out := w.ok(t, "backups", "run", "nightly")
			if !strings.Contains(out, "started") {
				t.Errorf("run: %s", out)
			}
			m := reID.FindString(out)
			w.waitBackup(t, m)
			ids["third"] = m
		}},
		{"backups run --wait of a failing backup", func(t *testing.T) {
			r := w.run(t, "", nil, "backups", "run", "broken", "--wait")
			if r.code != exitFailure {
				t.Fatalf("exit %d, want 1: %s %s", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, "failed") || !strings.Contains(r.stderr, "jagad_cli_no_such_db") {
				t.Errorf("stderr does not say why: %s", r.stderr)
			}
			w.compare(t, "backups-run-failed.stderr", r.stderr)
			r = w.run(t, "", nil, "backups", "run", "broken", "--wait", "--json")
			if r.code != exitFailure || !json.Valid([]byte(r.stdout)) || !strings.Contains(r.stdout, `"status": "failed"`) {
				t.Errorf("--json: exit %d, %s", r.code, r.stdout)
			}
			ids["failed"] = reID.FindString(r.stdout)
		}},
		{"backups list", func(t *testing.T) {
			w.golden(t, "backups-list", "backups", "list", "--schedule", "nightly")
			w.golden(t, "backups-list-failed", "backups", "list", "--status", "failed")
		}},
		{"backups show", func(t *testing.T) {
			w.golden(t, "backups-show", "backups", "show", ids["backup"])
			w.golden(t, "backups-show-failed", "backups", "show", ids["failed"])
		}},
		{"backups logs", func(t *testing.T) {
			human := w.ok(t, "backups", "logs", ids["backup"])
			w.compare(t, "backups-logs.txt", logShape(human))
			var l struct{ Log string }
			js := w.ok(t, "backups", "logs", ids["backup"], "--json")
			w.compare(t, "backups-logs.json", js)
			if err := json.Unmarshal([]byte(js), &l); err != nil || strings.TrimRight(l.Log, "\n")+"\n" != human {
				t.Errorf("logs --json %q vs %q (%v)", l.Log, human, err)
			}
		}},
		{"backups verify --wait", func(t *testing.T) {
			w.golden(t, "backups-verify-wait", "backups", "verify", ids["backup"], "--wait")
			w.compare(t, "backups-verify-quick.txt", w.ok(t, "backups", "verify", ids["backup"], "--mode", "quick", "--wait"))
			js := w.ok(t, "backups", "verify", ids["backup"], "--json")
			w.compare(t, "backups-verify.json", js)
			w.waitVerified(t, ids["backup"])
		}},
		{"backups download", func(t *testing.T) {
			file := filepath.Join(w.tmp, "dl", "backup.jgd")
			if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
				t.Fatal(err)
			}
			w.compare(t, "backups-download.txt", w.ok(t, "backups", "download", ids["backup"], "-o", file))
			got, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var b struct {
				StoragePath string `json:"storage_path"`
			}
			_ = json.Unmarshal([]byte(w.ok(t, "backups", "show", ids["backup"], "--json")), &b)
			want, err := os.ReadFile(filepath.Join(w.tmp, "backups", b.StoragePath))
			if err != nil {
				t.Fatalf("read the stored object: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("downloaded %d bytes, not the %d stored", len(got), len(want))
			}
			js := w.ok(t, "backups", "download", ids["backup"], "-o", file, "--json")
			w.compare(t, "backups-download.json", js)
			if entries, _ := os.ReadDir(filepath.Dir(file)); len(entries) != 1 {
				t.Errorf("download left extra files: %v", entries)
			}
		}},
		{"backups restore --wait", func(t *testing.T) {
			target := w.src + "_restored"
			w.subs = append([]string{target, "<DSTDB>"}, w.subs...)
			t.Cleanup(func() { w.pg.DropDB(t, target) })
			r := w.run(t, "", nil, "backups", "restore", ids["backup"], "--to-database", target, "--no-privileges", "--wait")
			if r.code != 0 {
				t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
			}
			w.compare(t, "backups-restore-wait.txt", r.stdout)
			if want, got := w.pg.Checksum(t, w.src), w.pg.Checksum(t, target); fmt.Sprint(want) != fmt.Sprint(got) {
				t.Errorf("restored %v, want %v", got, want)
			}
			js := w.ok(t, "backups", "restore", ids["backup"], "--to-database", target, "--drop-existing", "--no-privileges", "--wait", "--json")
			w.compare(t, "backups-restore-wait.json", js)
			var res map[string]any
			_ = json.Unmarshal([]byte(js), &res)
			ids["restore"], _ = res["id"].(string)
		}},
		{"restores", func(t *testing.T) {
			w.golden(t, "restores-list", "restores", "list")
			w.golden(t, "restores-show", "restores", "show", ids["restore"])
		}},
		{"status with backups", func(t *testing.T) { w.golden(t, "status", "status") }},
		{"config", func(t *testing.T) {
			w.golden(t, "config-status", "config", "status")
			w.golden(t, "config-plan", "config", "plan", "-f", w.cfgPath)
			w.golden(t, "config-reload", "config", "reload")
			w.compare(t, "config-export.yaml", w.ok(t, "config", "export"))
			var exp struct{ YAML string }
			js := w.ok(t, "config", "export", "--json")
			w.compare(t, "config-export.json", js)
			if err := json.Unmarshal([]byte(js), &exp); err != nil || !strings.HasPrefix(exp.YAML, "version: 1") {
				t.Errorf("config export --json: %v %q", err, exp.YAML)
			}
		}},
		{"backups copy", func(t *testing.T) {
			// A second destination, made through the API; the CLI copies
			// existing backups to it (the backfill endpoint).
			w.od.login("admin", w.adminPW)
			w.od.api("POST", "/api/storage-providers", map[string]any{"name": "offsite", "provider_type": "local",
				"path": filepath.Join(w.tmp, "offsite")}, http.StatusCreated)
			if r := w.run(t, "", nil, "backups", "copy", ids["backup"]); r.code != exitUsage || !strings.Contains(r.stderr, "--to") {
				t.Errorf("copy without --to: exit %d, %s", r.code, r.stderr)
			}
			if r := w.run(t, "", nil, "backups", "copy", ids["backup"], "--to", "nowhere"); r.code != exitFailure || !strings.Contains(r.stderr, `"nowhere"`) {
				t.Errorf("copy to a missing provider: exit %d, %s", r.code, r.stderr)
			}
			w.compare(t, "backups-copy-wait.txt", w.ok(t, "backups", "copy", ids["backup"], "--to", "offsite", "--wait"))
			var b struct {
				StoragePath string `json:"storage_path"`
			}
			_ = json.Unmarshal([]byte(w.ok(t, "backups", "show", ids["backup"], "--json")), &b)
			primary, err1 := os.ReadFile(filepath.Join(w.tmp, "backups", b.StoragePath))
			copied, err2 := os.ReadFile(filepath.Join(w.tmp, "offsite", b.StoragePath))
			if err1 != nil || err2 != nil || !bytes.Equal(primary, copied) {
				t.Errorf("the copy is not the primary's bytes: %v %v (%d vs %d bytes)", err1, err2, len(copied), len(primary))
			}
			// Again: a copy is already there (409); a failed backup has nothing to copy (400).
			if r := w.run(t, "", nil, "backups", "copy", ids["backup"], "--to", "offsite"); r.code != exitFailure || !strings.Contains(r.stderr, "HTTP 409") {
				t.Errorf("second copy: exit %d, %s", r.code, r.stderr)
			}
			if r := w.run(t, "", nil, "backups", "copy", ids["failed"], "--to", "offsite"); r.code != exitFailure || !strings.Contains(r.stderr, "HTTP 400") {
				t.Errorf("copy of a failed backup: exit %d, %s", r.code, r.stderr)
			}
			js := w.ok(t, "backups", "copy", ids["third"], "--to", "offsite", "--wait", "--json")
			w.compare(t, "backups-copy-wait.json", js)
			if !strings.Contains(js, `"provider_name": "offsite"`) {
				t.Errorf("copy --wait --json does not list the new copy: %s", js)
			}
			human, _ := w.golden(t, "backups-show-copies", "backups", "show", ids["backup"])
			tbl := w.normalise(human[strings.Index(human, "Copies:"):])
			if lines := strings.Split(strings.TrimSpace(tbl), "\n"); len(lines) != 4 ||
				!strings.HasPrefix(lines[2], "local  primary  success") || !strings.HasPrefix(lines[3], "offsite  copy  success") {
				t.Errorf("copies table:\n%s", tbl)
			}
		}},
		{"tokens new (offline)", func(t *testing.T) {
			r := w.run(t, "", map[string]string{"JAGAD_URL": "http://127.0.0.1:1"}, "tokens", "new", "ci", "--scope", "operate")
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			w.compare(t, "tokens-new.txt", r.stdout)
			secret := reSecret.FindString(r.stdout)
			if secret == "" || !strings.Contains(r.stdout, tokenHash(secret)) {
				t.Errorf("no secret, or not its hash:\n%s", r.stdout)
			}
			js := w.ok(t, "tokens", "new", "ci", "--json")
			w.compare(t, "tokens-new.json", js)
			var tok map[string]string
			if err := json.Unmarshal([]byte(js), &tok); err != nil || tok["hash"] != tokenHash(tok["token"]) || tok["scope"] != "read" {
				t.Errorf("tokens new --json: %v %s", err, js)
			}
		}},
		{"wrong token", func(t *testing.T) {
			r := w.run(t, "", map[string]string{"JAGAD_TOKEN": "jgd_wrongwrongwrongwrongwrongwrongwrongwrongwro"}, "backups", "list")
			if r.code != exitFailure || !strings.Contains(r.stderr, "HTTP 401") || !strings.Contains(r.stderr, "jagad login") {
				t.Errorf("wrong token: exit %d, stderr %q", r.code, r.stderr)
			}
			w.compare(t, "wrong-token.stderr", r.stderr)
			r = w.run(t, "", map[string]string{"HOME": w.tmp, "XDG_CONFIG_HOME": filepath.Join(w.tmp, "nothing")}, "status")
			if r.code != exitFailure || !strings.Contains(r.stderr, "no credentials") {
				t.Errorf("no credentials: exit %d, stderr %q", r.code, r.stderr)
			}
			// A saved login is for its server only: another --server gets no token.
			r = w.run(t, "", map[string]string{"JAGAD_URL": "http://127.0.0.1:1"}, "status")
			if r.code != exitFailure || !strings.Contains(r.stderr, "no credentials") {
				t.Errorf("saved login sent to another server: exit %d, stderr %q", r.code, r.stderr)
			}
		}},
		{"usage errors", func(t *testing.T) {
			for _, args := range [][]string{
				{"backups", "show"}, {"backups", "show", "a", "b"}, {"backups", "list", "--nope"},
				{"backups", "run"}, {"backups", "download", ids["backup"]}, {"tokens", "new", "x", "--scope", "root"},
				{"backups", "verify", "x", "--mode", "slow"}, {"backups"}, {"backups", "nope"}, {"status", "extra"},
			} {
				if r := w.run(t, "", nil, args...); r.code != exitUsage {
					t.Errorf("jagad %v: exit %d, want 2 (%s)", args, r.code, r.stderr)
				}
			}
			r := w.run(t, "", nil, "backups", "--help")
			if r.code != 0 || !strings.Contains(r.stdout, "download") {
				t.Errorf("backups --help: exit %d: %s", r.code, r.stdout)
			}
			r = w.run(t, "", nil, "backups", "show", "bck_00000000000000000000")
			if r.code != exitFailure || !strings.Contains(r.stderr, "backup not found (HTTP 404)") {
				t.Errorf("show of a missing backup: exit %d: %s", r.code, r.stderr)
			}
		}},
		{"schedules run", func(t *testing.T) {
			w.compare(t, "schedules-run.txt", w.ok(t, "schedules", "run", "nightly"))
			// A schedule runs once at a time: retry until the first run ended.
			for i := 0; ; i++ {
				r := w.run(t, "", nil, "schedules", "run", "nightly", "--json")
				if r.code == 0 {
					w.compare(t, "schedules-run.json", r.stdout)
					break
				}
				if !strings.Contains(r.stderr, "already running (HTTP 409)") || i == 1200 {
					t.Fatalf("schedules run --json: exit %d: %s", r.code, r.stderr)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}},
		{"backups delete", func(t *testing.T) {
			w.compare(t, "backups-delete.txt", w.ok(t, "backups", "delete", ids["failed"]))
			r := w.run(t, "", nil, "backups", "show", ids["failed"])
			if r.code != exitFailure {
				t.Errorf("show after delete: exit %d", r.code)
			}
			r = w.run(t, "", nil, "backups", "delete", ids["third"], "--json")
			if r.code != 0 || !strings.Contains(r.stdout, `"deleted": true`) {
				t.Errorf("delete --json: exit %d %s %s", r.code, r.stdout, r.stderr)
			}
			w.compare(t, "backups-delete.json", r.stdout)
		}},
	}
	// Last: nothing builds on it, and until the token API is merged it
	// fails under CI=true.
	steps = append(steps, struct {
		name string
		run  func(t *testing.T)
	}{"interrupted download leaves no file", func(t *testing.T) { w.interruptedDownload(t, ids["backup"]) }},
		struct {
			name string
			run  func(t *testing.T)
		}{"tokens", func(t *testing.T) { w.tokens(t) }})
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			t.Fatalf("stopping: later steps build on %q", s.name)
		}
	}
}

// waitBackup waits until a backup is no longer queued or running.
func (w *cliWorld) waitBackup(t *testing.T, id string) {
	t.Helper()
	for i := 0; i < 1200; i++ {
		out := w.ok(t, "backups", "show", id, "--json")
		if strings.Contains(out, `"status": "success"`) || strings.Contains(out, `"status": "failed"`) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("backup %s did not end", id)
}

func (w *cliWorld) waitVerified(t *testing.T, id string) {
	t.Helper()
	for i := 0; i < 1200; i++ {
		if out := w.ok(t, "backups", "show", id, "--json"); !strings.Contains(out, `"verify_status": "verifying"`) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("verification of %s did not end", id)
}

// tokens tests create, list, use and revoke.
func (w *cliWorld) tokens(t *testing.T) {
	r := w.run(t, "", nil, "tokens", "create", "ci", "--scope", "read", "--expires", "720h")
	if r.code != 0 {
		t.Fatalf("tokens create: exit %d: %s", r.code, r.stderr)
	}
	w.compare(t, "tokens-create.txt", r.stdout)
	secret := reSecret.FindString(r.stdout)
	if secret == "" {
		t.Fatalf("no secret in %s", r.stdout)
	}
	js := w.ok(t, "tokens", "create", "ci-2", "--scope", "operate", "--json")
	w.compare(t, "tokens-create.json", js)
	// The new token works for reads, and shows up as used.
	r = w.run(t, "", map[string]string{"JAGAD_TOKEN": secret}, "backups", "list")
	if r.code != 0 {
		t.Fatalf("backups list with the read token: exit %d: %s", r.code, r.stderr)
	}
	human, list := w.golden(t, "tokens-list", "tokens", "list")
	if strings.Contains(human+list, secret) {
		t.Errorf("tokens list shows a secret")
	}
	// Revoking removes the token, so the human and --json forms each revoke one.
	w.compare(t, "tokens-revoke.txt", w.ok(t, "tokens", "revoke", "ci-2"))
	w.compare(t, "tokens-revoke.json", w.ok(t, "tokens", "revoke", "ci", "--json"))
	r = w.run(t, "", map[string]string{"JAGAD_TOKEN": secret}, "backups", "list")
	if r.code != exitFailure || !strings.Contains(r.stderr, "401") {
		t.Errorf("revoked token: exit %d: %s", r.code, r.stderr)
	}
}

// loginToken is the session `jagad login` saved.
func (w *cliWorld) loginToken(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(w.home, ".config", "jagad", "login.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s savedLogin
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s.Token
}

// cutAfter is a body that fails after n bytes, as a connection that drops.
type cutAfter struct {
	rc io.ReadCloser
	n  int64
}

func (c *cutAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, errors.New("connection cut by the test proxy")
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	k, err := c.rc.Read(p)
	c.n -= int64(k)
	return k, err
}

func (c *cutAfter) Close() error { return c.rc.Close() }

// interruptedDownload downloads through a proxy that drops the connection
// half-way through the object: the command fails and leaves no file, not
// even its temporary one.
func (w *cliWorld) interruptedDownload(t *testing.T, id string) {
	u, err := url.Parse(w.od.base)
	if err != nil {
		t.Fatal(err)
	}
	var cut sync.Once
	cuts := 0
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ErrorLog = nil
	proxy.ModifyResponse = func(resp *http.Response) error {
		if strings.HasSuffix(resp.Request.URL.Path, "/download") && resp.ContentLength > 1 {
			cut.Do(func() { cuts++ })
			resp.Body = &cutAfter{rc: resp.Body, n: resp.ContentLength / 2}
		}
		return nil
	}
	srv := httptest.NewServer(proxy)
	defer srv.Close()
	dir := filepath.Join(w.tmp, "cut")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "backup.jgd")
	r := w.run(t, "", map[string]string{"JAGAD_URL": "", "JAGAD_TOKEN": w.loginToken(t)}, "backups", "download", id, "-o", file, "--server", srv.URL)
	if cuts != 1 {
		t.Fatalf("the proxy cut %d downloads, want 1 (exit %d: %s)", cuts, r.code, r.stderr)
	}
	if r.code != exitFailure {
		t.Errorf("interrupted download: exit %d, want 1: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "download backup") {
		t.Errorf("stderr: %q", r.stderr)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if len(names) != 0 {
		t.Errorf("an interrupted download left %v", names)
	}
}
