package config

import (
	"errors"
	"strings"
	"testing"
)

func parseString(t *testing.T, src string, opts Options) (*File, *Report) {
	t.Helper()
	if opts.LookupEnv == nil {
		opts.LookupEnv = testEnv
	}
	return Parse("jagad.yaml", []byte(src), opts)
}

func diagStrings(ds []Diagnostic) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.String()
	}
	return out
}

func TestLiteralSecretsWarn(t *testing.T) {
	src := `version: 1
server:
  metrics_token: plain-token
encryption:
  active_key: k
  keys: [{id: k, key: "literal key"}]
storage:
  - {name: s, provider_type: minio, endpoint: "http://m:9000", bucket: abc, access_key: a, secret_key: plain}
connections:
  - {name: pg, db_type: postgresql, host: h, password: hunter2}
  - {name: pg2, db_type: postgresql, host: h, password: "${PG_PASSWORD}"}
  - {name: pg3, db_type: postgresql, host: h, password: ""}
notifications:
  - {name: t, type: telegram, config: {bot_token: "123:abc", chat_id: 1}}
  - {name: w, type: webhook, config: {url: "${HOOK_URL}", headers: {Authorization: "Bearer x", X-Ok: "${HOOK_TOKEN}"}}}
  - {name: e, type: email, config: {smtp_host: h, smtp_port: 25, from: a@b.c, to: [c@d.e], smtp_password: pw}}
`
	f, rep := parseString(t, src, Options{Resolve: true})
	if f == nil || rep.HasErrors() {
		t.Fatalf("rejected: %v", rep.Diagnostics)
	}
	want := []string{
		"jagad.yaml:3:18: warning: literal secret in server.metrics_token",
		"jagad.yaml:6:23: warning: literal secret in encryption.keys[0].key",
		"jagad.yaml:8:104: warning: literal secret in storage[0].secret_key",
		"jagad.yaml:10:56: warning: literal secret in connections[0].password",
		"jagad.yaml:14:51: warning: literal secret in notifications[0].config.bot_token",
		"jagad.yaml:15:84: warning: literal secret in notifications[1].config.headers.Authorization",
		"jagad.yaml:16:107: warning: literal secret in notifications[2].config.smtp_password",
	}
	got := diagStrings(rep.Warnings())
	if len(got) != len(want) {
		t.Fatalf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) || !strings.HasSuffix(got[i], "; use ${VAR} or ${file:...}") {
			t.Errorf("warning %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
	for _, w := range got {
		for _, secret := range []string{"plain-token", "hunter2", "literal key", "123:abc", "Bearer x"} {
			if strings.Contains(w, secret) {
				t.Errorf("warning leaks the secret: %q", w)
			}
		}
	}
}

func TestUnresolvedWithoutResolveIsAWarning(t *testing.T) {
	src := `version: 1
connections:
  - name: pg
    db_type: postgresql
    host: ${NOPE_HOST}
    port: ${NOPE_PORT}
    password: ${NOPE_PASS}
notifications:
  - {name: t, type: telegram, config: {bot_token: "${NOPE_TOKEN}", chat_id: "${NOPE_CHAT}"}}
`
	f, rep := parseString(t, src, Options{})
	if f == nil || rep.HasErrors() {
		t.Fatalf("without Resolve the file must be accepted: %v", rep.Diagnostics)
	}
	ws := diagStrings(rep.Warnings())
	if len(ws) != 5 {
		t.Fatalf("warnings = %q, want 5", ws)
	}
	for i, name := range []string{"NOPE_HOST", "NOPE_PORT", "NOPE_PASS", "NOPE_TOKEN", "NOPE_CHAT"} {
		if !strings.Contains(ws[i], "environment variable "+name+" is not set") {
			t.Errorf("warning %d = %q does not name %s", i, ws[i], name)
		}
	}
	if c := f.Connections[0]; c.Host != "" || c.Port != 0 || c.Password != "" {
		t.Errorf("unresolved values must stay empty, got %+v", c)
	}

	_, rep = parseString(t, src, Options{Resolve: true})
	if len(rep.Errors()) != 5 || len(rep.Warnings()) != 0 {
		t.Fatalf("with Resolve: errors %v warnings %v", rep.Errors(), rep.Warnings())
	}
}

func TestTypedExpansionErrorsDoNotShowValue(t *testing.T) {
	src := "version: 1\nconnections:\n  - {name: pg, db_type: postgresql, host: h, port: \"${PG_PASSWORD}\"}\n"
	_, rep := parseString(t, src, Options{Resolve: true})
	errs := rep.Errors()
	if len(errs) != 1 || !strings.Contains(errs[0].Message, "expected an integer") {
		t.Fatalf("errors = %v", errs)
	}
	if strings.Contains(errs[0].Message, "colon") {
		t.Errorf("error shows the expanded secret: %q", errs[0].Message)
	}
}

func TestEncryptionEnabledWithoutSectionWarns(t *testing.T) {
	src := `version: 1
connections: [{name: pg, db_type: postgresql, host: h, databases: [app]}]
schedules:
  - {name: s, connection: pg, database: other, cron_expr: "@daily", encryption_enabled: true}
`
	f, rep := parseString(t, src, Options{Resolve: true})
	if f == nil {
		t.Fatalf("rejected: %v", rep.Diagnostics)
	}
	ws := diagStrings(rep.Warnings())
	if len(ws) != 2 || !strings.Contains(ws[0], `database "other" is not in connection "pg"`) ||
		!strings.Contains(ws[1], "JAGAD_ENCRYPTION_KEY must be set") {
		t.Errorf("warnings = %q", ws)
	}
}

func TestReport(t *testing.T) {
	var nilRep *Report
	if nilRep.HasErrors() || nilRep.Err() != nil {
		t.Error("nil report has errors")
	}
	_, rep := parseString(t, "version: 3\nconnections: {}\nserver: {metrics_token: x}\n", Options{})
	if !rep.HasErrors() || len(rep.Errors()) != 2 || len(rep.Warnings()) != 1 {
		t.Fatalf("report = %v", rep.Diagnostics)
	}
	err := rep.Err()
	var d Diagnostic
	if !errors.As(err, &d) || d.Line != 1 || d.Col != 10 {
		t.Errorf("Err() = %v; first diagnostic %+v", err, d)
	}
	if got := err.Error(); !strings.Contains(got, "jagad.yaml:1:10: unsupported version 3") ||
		!strings.Contains(got, "jagad.yaml:2:14: connections: expected a list") || strings.Contains(got, "warning") {
		t.Errorf("Err().Error() = %q", got)
	}
	if w := rep.Warnings()[0].String(); w != "jagad.yaml:3:25: warning: literal secret in server.metrics_token; use ${VAR} or ${file:...}" {
		t.Errorf("warning = %q", w)
	}
}

func TestLoadMissingFile(t *testing.T) {
	f, rep := Load("testdata/does-not-exist.yaml", Options{})
	if f != nil || len(rep.Errors()) != 1 {
		t.Fatalf("Load = %v, %v", f, rep.Diagnostics)
	}
	if got := rep.Errors()[0].String(); got != "testdata/does-not-exist.yaml:1:1: cannot read config file: no such file or directory" {
		t.Errorf("diagnostic = %q", got)
	}
}

func TestAliasBombIsBounded(t *testing.T) {
	src := `version: 1
a: &a ["x","x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
notifications:
  - name: n
    type: webhook
    config: {url: "${HOOK_URL}", headers: {X: *f}}
`
	_, rep := parseString(t, src, Options{})
	if !rep.HasErrors() || !strings.Contains(rep.Err().Error(), "too many alias expansions") {
		t.Fatalf("diagnostics = %v", rep.Diagnostics)
	}
}
