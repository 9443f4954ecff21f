package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jagad/jagad/state/logbuf"
)

// The real PostgreSQL of the test machine (trust auth, user postgres).
const obsPostgres = "127.0.0.1:5432"

// obsRequirePostgres fails under CI=true and skips otherwise when PostgreSQL
// or pg_dump is missing.
func obsRequirePostgres(tb testing.TB) {
	tb.Helper()
	missing := func(what string, err error) {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s (CI=true): %v", what, err)
		}
		tb.Skipf("%s: %v", what, err)
	}
	c, err := net.DialTimeout("tcp", obsPostgres, 2*time.Second)
	if err != nil {
		missing("PostgreSQL is not reachable on "+obsPostgres, err)
		return
	}
	c.Close()
	if _, err := exec.LookPath("pg_dump"); err != nil {
		missing("pg_dump is not installed", err)
	}
}

// obsDaemon is jagad serve running in process.
type obsDaemon struct {
	t      *testing.T
	base   string
	d      *daemon
	logs   *logbuf.Buffer
	token  string // session token after login
	cancel context.CancelFunc
	done   chan error
}

// startObsDaemon runs serve with env (as the process environment) until
// the test ends.
func startObsDaemon(t *testing.T, env map[string]string) *obsDaemon {
	t.Helper()
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	c, err := parseServeFlags(nil, io.Discard, lookup)
	if err != nil {
		t.Fatalf("parse flags: %v", err)
	}
	od := &obsDaemon{t: t, logs: &logbuf.Buffer{}, done: make(chan error, 1)}
	log, err := newLogger(od.logs, c.logLevel, c.logFormat)
	if err != nil {
		t.Fatalf("logger: %v", err)
	}
	addr := make(chan net.Addr, 1)
	ready := make(chan *daemon, 1)
	c.hooks = serveHooks{listening: func(a net.Addr) { addr <- a }, ready: func(d *daemon) { ready <- d }}
	ctx, cancel := context.WithCancel(context.Background())
	od.cancel = cancel
	go func() { od.done <- serve(ctx, c, log, lookup) }()
	select {
	case a := <-addr:
		od.base = "http://" + a.String()
	case err := <-od.done:
		t.Fatalf("serve: %v\n%s", err, od.logs)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not listen")
	}
	select {
	case od.d = <-ready:
	case err := <-od.done:
		t.Fatalf("serve: %v\n%s", err, od.logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("serve not ready after 60 s\n%s", od.logs)
	}
	t.Cleanup(od.stop)
	return od
}

func (od *obsDaemon) stop() {
	if od.cancel == nil {
		return
	}
	od.cancel()
	od.cancel = nil
	select {
	case err := <-od.done:
		if err != nil {
			od.t.Errorf("serve returned %v", err)
		}
	case <-time.After(60 * time.Second):
		od.t.Error("serve did not stop within 60 s")
	}
}

// do sends a request with the session token (if any) and returns the
// status and body.
func (od *obsDaemon) do(method, path, bearer string, body any) (int, []byte) {
	od.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			od.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, od.base+path, rd)
	if err != nil {
		od.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		od.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		od.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp.StatusCode, out
}

// api calls an authenticated endpoint and wants status want.
func (od *obsDaemon) api(method, path string, body any, want int) []byte {
	od.t.Helper()
	code, out := od.do(method, path, od.token, body)
	if code != want {
		od.t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, want, out)
	}
	return out
}

func (od *obsDaemon) login(user, pass string) {
	od.t.Helper()
	out := od.api("POST", "/api/auth/login", map[string]string{"username": user, "password": pass}, http.StatusOK)
	var r struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(out, &r); err != nil || r.Token == "" {
		od.t.Fatalf("login: %v: %s", err, out)
	}
	od.token = r.Token
}

// scheduleIDs maps schedule names to IDs.
func (od *obsDaemon) scheduleIDs() map[string]string {
	od.t.Helper()
	var list []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(od.api("GET", "/api/schedules", nil, http.StatusOK), &list); err != nil {
		od.t.Fatalf("list schedules: %v", err)
	}
	out := map[string]string{}
	for _, s := range list {
		out[s.Name] = s.ID
	}
	return out
}

// waitMetric polls /metrics until cond holds on the value of the series.
func (od *obsDaemon) waitMetric(metricsToken, series string, timeout time.Duration, cond func(float64) bool) scrape {
	od.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := od.scrape(metricsToken)
		if v, ok := s.values[series]; ok && cond(v) {
			return s
		}
		if time.Now().After(deadline) {
			od.t.Fatalf("%s: condition not met after %s (value %v, present %v)\nlogs:\n%s",
				series, timeout, s.values[series], s.has(series), od.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// scrape is one GET /metrics.
type scrape struct {
	raw    []byte
	values map[string]float64 // `name{k="v",...}` as exposed → value
}

func (s scrape) has(series string) bool { _, ok := s.values[series]; return ok }

func (od *obsDaemon) scrape(metricsToken string) scrape {
	od.t.Helper()
	code, body := od.do("GET", "/metrics", metricsToken, nil)
	if code != http.StatusOK {
		od.t.Fatalf("GET /metrics: status %d: %s", code, body)
	}
	return parseScrape(od.t, body)
}

// parseScrape reads the text format: comment lines are skipped, every other
// line is `series value`.
func parseScrape(tb testing.TB, body []byte) scrape {
	tb.Helper()
	s := scrape{raw: body, values: map[string]float64{}}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			tb.Fatalf("bad metrics line %q", line)
		}
		var v float64
		if _, err := fmt.Sscan(line[i+1:], &v); err != nil {
			tb.Fatalf("bad value in %q: %v", line, err)
		}
		s.values[line[:i]] = v
	}
	return s
}

// metricNames returns the metric families of the scrape (from # TYPE).
func (s scrape) metricNames() map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(string(s.raw), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
			out[f[2]] = true
		}
	}
	return out
}

// logLines decodes the daemon's JSON log lines; a line that is not JSON
// fails the test.
func (od *obsDaemon) logLines() []map[string]any {
	od.t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(od.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			od.t.Fatalf("log line is not JSON (JAGAD_LOG_FORMAT=json): %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// failingWebhook is a webhook receiver that answers 500 and counts calls.
type failingWebhook struct {
	calls atomic.Int64
	auth  atomic.Value
}

func (f *failingWebhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	f.auth.Store(r.Header.Get("Authorization"))
	http.Error(w, "receiver down", http.StatusInternalServerError)
}

func writeFile(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
}

const obsConfig = `version: 1
server:
  metrics_token: ${OBS_METRICS_TOKEN}
settings:
  timezone: UTC
storage:
  - name: local
    provider_type: local
    path: %s
    is_default: true
connections:
  - name: pg
    db_type: postgresql
    host: 127.0.0.1
    port: 5432
    username: postgres
    password: ${OBS_PG_PASSWORD}
    ssl_mode: disable
notifications:
  - name: hook
    type: webhook
    config:
      url: ${OBS_WEBHOOK_URL}
      headers:
        Authorization: ${OBS_WEBHOOK_AUTH}
schedules:
  - name: pg-ok
    connection: pg
    database: postgres
    cron_expr: "0 3 * * *"
    encryption_enabled: false
    notifications: [hook]
    notify_on_success: true
    notify_on_failure: true
    max_age: 26h
  - name: pg-broken
    connection: pg
    database: jagad_obs_no_such_db
    cron_expr: "30 3 * * *"
    encryption_enabled: false
    notifications: [hook]
    notify_on_failure: true
    timeout: 1h
`

// TestVersionLdflags builds jagad with -ldflags -X and runs `jagad version`.
func TestVersionLdflags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	bin := filepath.Join(t.TempDir(), "jagad")
	build := exec.Command(gobin, "build", "-ldflags", "-X main.version=9.8.7-obs -X main.commit=c0ffee1", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// (`jagad --version` reaches serve's flag parser today: main.go dispatches
	// every leading "-" argument to serve.)
	for _, arg := range []string{"version"} {
		out, err := exec.Command(bin, arg).CombinedOutput()
		if err != nil {
			t.Fatalf("jagad %s: %v\n%s", arg, err, out)
		}
		if got, want := strings.TrimSpace(string(out)), "jagad 9.8.7-obs (commit c0ffee1)"; got != want {
			t.Errorf("jagad %s = %q, want %q", arg, got, want)
		}
	}
}
