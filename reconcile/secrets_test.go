package reconcile

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

// Canaries: an environment variable of the daemon and a file on its host.
// No plan, error, status, log line or config.failed error may show them.
const (
	canaryEnv  = "CANARY-7f3a9c1e-master-key"
	canaryFile = "root:CANARY-7f3a9c1e-shadow:19000:0:99999:7:::"
)

func canaryEnvFn(name string) (string, bool) {
	if name == "JAGAD_MASTER_KEY" {
		return canaryEnv, true
	}
	return testEnv(name)
}

// canaryFixture is a fixture whose environment holds the canary, with a
// canary file beside its config file; it returns the file's path.
func canaryFixture(t *testing.T, opts Options) (*fixture, string, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	secret := filepath.Join(dir, "shadow")
	writeFile(t, secret, canaryFile+"\n")
	path := filepath.Join(dir, "jagad.yaml")
	var logs bytes.Buffer
	c := newClock()
	opts.Path, opts.Store, opts.Now, opts.Env = path, memStore(t), c.Now, canaryEnvFn
	opts.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{path: path, store: opts.Store, clock: c, r: r}, secret, &logs
}

// noCanary fails when s shows a canary or part of one.
func noCanary(tb testing.TB, what, s string) {
	tb.Helper()
	for _, c := range []string{canaryEnv, canaryFile} {
		for i := 0; i+8 <= len(c); i++ {
			if strings.Contains(s, c[i:i+8]) {
				tb.Errorf("%s shows part of a canary (%q):\n%s", what, c[i:i+8], s)
				return
			}
		}
	}
}

func jsonOf(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestPlanBytesNeverShowsAResolvedValue(t *testing.T) {
	f, secret, _ := canaryFixture(t, Options{})
	named := replace(t, baseYAML, "  - name: pg\n", "  - name: ${JAGAD_MASTER_KEY}\n")
	named = replace(t, named, "    connection: pg\n", "    connection: ${JAGAD_MASTER_KEY}\n")
	named = replace(t, named, "host: db.example.com", `host: "db-${JAGAD_MASTER_KEY}.example.com"`)
	named = replace(t, named, "password: ${PG_PASSWORD}", "password: ${JAGAD_MASTER_KEY}")
	tests := []struct {
		name    string
		doc     string
		wantErr string // empty: the plan succeeds
		want    string // in the error or the plan's JSON
	}{
		{
			name:    "file reference is refused",
			doc:     replace(t, baseYAML, "timezone: UTC", "timezone: ${file:"+secret+"}"),
			wantErr: "jagad.yaml:3:13: settings.timezone: ${file:...} is refused in a document posted for planning",
		},
		{
			name:    "relative file reference is refused",
			doc:     replace(t, baseYAML, "${PG_PASSWORD}", "${file:shadow}"),
			wantErr: "is refused in a document posted for planning",
		},
		{
			name:    "environment value in an error",
			doc:     replace(t, baseYAML, "timezone: UTC", "timezone: ${JAGAD_MASTER_KEY}"),
			wantErr: `jagad.yaml:3:13: settings: timezone: unknown time zone "${JAGAD_MASTER_KEY}"`,
		},
		{
			name: "environment value as a name, a host and a password",
			doc:  named,
			want: `"kind":"connection","name":"${JAGAD_MASTER_KEY}","action":"create"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := f.r.PlanBytes([]byte(tt.doc))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				noCanary(t, "the error", err.Error())
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			out := jsonOf(t, p)
			noCanary(t, "the plan", out)
			if !strings.Contains(out, tt.want) {
				t.Errorf("plan lacks %s:\n%s", tt.want, out)
			}
			if strings.Contains(out, `"database","name":"${JAGAD_MASTER_KEY}/app","id"`) {
				t.Errorf("the ID derived from a secret name is shown:\n%s", out)
			}
		})
	}
}

// TestPlanBytesShowsStoredNamesAsWritten: a record the daemon's own file
// names with ${VAR} is shown by that reference when a posted plan prunes it.
func TestPlanBytesShowsStoredNamesAsWritten(t *testing.T) {
	f, _, _ := canaryFixture(t, Options{})
	own := replace(t, baseYAML, "  - name: hook\n", "  - name: ${JAGAD_MASTER_KEY}\n")
	own = replace(t, own, "notifications: [hook]", "notifications: [\"${JAGAD_MASTER_KEY}\"]")
	f.apply(t, own)
	posted := replace(t, baseYAML, "    notifications: [hook]\n", "")
	posted = posted[:strings.Index(posted, "notifications:\n")] + posted[strings.Index(posted, "schedules:\n"):]
	p, err := f.r.PlanBytes([]byte(posted))
	if err != nil {
		t.Fatal(err)
	}
	out := jsonOf(t, p)
	noCanary(t, "the plan", out)
	if !strings.Contains(out, `"kind":"notification","name":"${JAGAD_MASTER_KEY}","action":"prune"`) {
		t.Errorf("the prune is not named as the daemon's file writes it:\n%s", out)
	}
}

// TestReloadNeverShowsAResolvedValue: the followed file may use ${file:},
// but an error quoting an expanded value reaches neither the status, nor
// the log, nor the config.failed notification.
func TestReloadNeverShowsAResolvedValue(t *testing.T) {
	var failed []error
	f, secret, logs := canaryFixture(t, Options{OnFailed: func(err error) { failed = append(failed, err) }})
	good := replace(t, baseYAML, "  - name: pg\n", "  - name: ${JAGAD_MASTER_KEY}\n")
	good = replace(t, good, "    connection: pg\n", "    connection: ${JAGAD_MASTER_KEY}\n")
	good = replace(t, good, "password: ${PG_PASSWORD}", "password: ${file:shadow}")
	res := f.apply(t, good)
	noCanary(t, "the applied plan", jsonOf(t, res.Plan))
	for _, doc := range []string{
		replace(t, good, "timezone: UTC", "timezone: ${file:"+secret+"}"),
		replace(t, good, "timezone: UTC", "timezone: ${JAGAD_MASTER_KEY}"),
		replace(t, good, `cron_expr: "0 2 * * *"`, `cron_expr: "${JAGAD_MASTER_KEY} 2 * * *"`),
	} {
		f.write(t, doc)
		res := f.reload(t, "failed")
		noCanary(t, "the reload error", res.Err.Error())
	}
	if len(failed) != 3 {
		t.Fatalf("config.failed sent %d times, want 3", len(failed))
	}
	for _, err := range failed {
		noCanary(t, "the config.failed error", err.Error())
	}
	st := f.r.Status()
	noCanary(t, "the status", jsonOf(t, st))
	if !strings.Contains(st.LastError, `cron expression "${JAGAD_MASTER_KEY} 2 * * *"`) {
		t.Errorf("last error does not quote the reference: %s", st.LastError)
	}
	if !strings.Contains(st.History[2].Error, `unknown time zone "${file:`+secret+`}"`) {
		t.Errorf("history error does not quote the reference: %s", st.History[2].Error)
	}
	noCanary(t, "the log", logs.String())
	if !strings.Contains(logs.String(), `"name":"${JAGAD_MASTER_KEY}"`) {
		t.Errorf("the log does not name the connection by its reference:\n%s", logs)
	}
}

// TestPostedPlanErrorsNameThePostedDocument: errors of a posted document
// are reported against jagad.yaml, never the daemon's config path.
func TestPostedPlanErrorsNameThePostedDocument(t *testing.T) {
	f := newFixture(t, nil, baseYAML)
	_, err := f.r.PlanBytes([]byte("version: 1\nbogus: true\n"))
	if err == nil || !strings.HasPrefix(err.Error(), PostedName+":2:1: ") || strings.Contains(err.Error(), f.path) {
		t.Fatalf("err = %v", err)
	}
}
