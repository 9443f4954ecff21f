package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDaemonObservability runs jagad serve in process against the real
// PostgreSQL with a webhook that answers 500, runs a good and a broken
// schedule, breaks jagad.yaml, and checks /metrics (values, promtool lint,
// the metrics the examples use), the probes, health, the JSON logs and that
// no secret leaks into the scrape or the logs.
func TestDaemonObservability(t *testing.T) {
	obsRequirePostgres(t)
	hook := &failingWebhook{}
	hookSrv := httptest.NewServer(hook)
	defer hookSrv.Close()

	const (
		adminPass    = "obs-Admin-Pass-4471-secret"
		pgPass       = "obs-pg-password-9923-secret"
		metricsToken = "obs-metrics-token-6612-secret"
		webhookAuth  = "Bearer obs-webhook-auth-3309-secret"
		hookPath     = "/hooks/obs-webhook-path-5517-secret"
	)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "jagad.yaml")
	good := fmt.Sprintf(obsConfig, filepath.Join(dir, "backups"))
	writeFile(t, cfgPath, good)
	env := map[string]string{
		"JAGAD_LISTEN":      "127.0.0.1:0",
		"JAGAD_DATA_DIR":    filepath.Join(dir, "data"),
		"JAGAD_CONFIG":      cfgPath,
		"JAGAD_ADMIN_PASS":  adminPass,
		"JAGAD_LOG_FORMAT":  "json",
		"JAGAD_LOG_LEVEL":   "info",
		"OBS_METRICS_TOKEN": metricsToken,
		"OBS_PG_PASSWORD":   pgPass,
		"OBS_WEBHOOK_URL":   hookSrv.URL + hookPath,
		"OBS_WEBHOOK_AUTH":  webhookAuth,
	}
	od := startObsDaemon(t, env)

	t.Run("probes and health", func(t *testing.T) {
		if code, body := od.do("GET", "/livez", "", nil); code != http.StatusOK {
			t.Errorf("/livez = %d %s", code, body)
		}
		if code, body := od.do("GET", "/readyz", "", nil); code != http.StatusOK {
			t.Errorf("/readyz = %d %s", code, body)
		}
		od.d.ready.Store(false) // as while shutting down
		if code, body := od.do("GET", "/readyz", "", nil); code != http.StatusServiceUnavailable {
			t.Errorf("/readyz while not ready = %d %s, want 503", code, body)
		}
		if code, _ := od.do("GET", "/livez", "", nil); code != http.StatusOK {
			t.Errorf("/livez while not ready = %d, want 200", code)
		}
		od.d.ready.Store(true)
		code, body := od.do("GET", "/api/health", "", nil)
		if code != http.StatusOK {
			t.Fatalf("/api/health = %d %s", code, body)
		}
		var h map[string]any
		if err := json.Unmarshal(body, &h); err != nil {
			t.Fatalf("health: %v", err)
		}
		want := map[string]any{"status": "ok", "version": version, "encryption": false, "providers": true, "legacy_storage": false}
		for k, v := range want {
			if h[k] != v {
				t.Errorf("health %s = %v, want %v (%s)", k, h[k], v, body)
			}
		}
	})

	t.Run("metrics token", func(t *testing.T) {
		for _, tok := range []string{"", "wrong-token"} {
			if code, _ := od.do("GET", "/metrics", tok, nil); code != http.StatusUnauthorized {
				t.Errorf("GET /metrics with token %q = %d, want 401", tok, code)
			}
		}
	})

	// Before any run: every schedule has its series.
	s := od.scrape(metricsToken)
	for series, want := range map[string]float64{
		`jagad_backup_last_success_timestamp_seconds{schedule="pg-ok"}`:       0,
		`jagad_backup_last_success_timestamp_seconds{schedule="pg-broken"}`:   0,
		`jagad_backup_last_status{schedule="pg-ok"}`:                          -1,
		`jagad_schedule_max_age_seconds{schedule="pg-ok"}`:                    26 * 3600,
		`jagad_schedule_max_age_seconds{schedule="pg-broken"}`:                (36 + 1) * 3600, // 1.5 × 24h + timeout 1h
		`jagad_config_last_reload_successful`:                                 1,
		`jagad_build_info{commit="` + commit + `",version="` + version + `"}`: 1,
	} {
		if got, ok := s.values[series]; !ok || got != want {
			t.Errorf("before runs: %s = %v (present %v), want %v", series, got, ok, want)
		}
	}
	if next := s.values[`jagad_schedule_next_run_timestamp_seconds{schedule="pg-ok"}`]; next < float64(time.Now().Unix()) {
		t.Errorf("next run of pg-ok = %v, want a future time", next)
	}

	od.login("admin", adminPass)
	ids := od.scheduleIDs()
	if ids["pg-ok"] == "" || ids["pg-broken"] == "" {
		t.Fatalf("schedules from jagad.yaml: %v", ids)
	}
	started := time.Now()
	od.api("POST", "/api/schedules/"+ids["pg-ok"]+"/run", nil, http.StatusOK)
	od.waitMetric(metricsToken, `jagad_backups_total{backup_type="full",db_type="postgresql",schedule="pg-ok",status="success"}`,
		60*time.Second, func(v float64) bool { return v == 1 })
	od.api("POST", "/api/schedules/"+ids["pg-broken"]+"/run", nil, http.StatusOK)
	od.waitMetric(metricsToken, `jagad_backups_total{backup_type="full",db_type="postgresql",schedule="pg-broken",status="failed"}`,
		60*time.Second, func(v float64) bool { return v == 1 })
	od.waitMetric(metricsToken, `jagad_notifications_total{result="failed",type="webhook"}`,
		60*time.Second, func(v float64) bool { return v >= 2 })

	// A broken jagad.yaml: the reload fails and the daemon keeps the last good file.
	writeFile(t, cfgPath, good+"  - name: pg-bad\n    connection: no-such-connection\n    database: x\n    cron_expr: \"0 4 * * *\"\n")
	if code, body := od.do("POST", "/api/config/reload", od.token, nil); code < 400 || code >= 500 {
		t.Errorf("reload of a broken jagad.yaml = %d %s, want 4xx", code, body)
	}
	s = od.waitMetric(metricsToken, `jagad_config_last_reload_successful`, 10*time.Second, func(v float64) bool { return v == 0 })

	t.Run("values", func(t *testing.T) {
		exact := map[string]float64{
			`jagad_backups_total{backup_type="full",db_type="postgresql",schedule="pg-ok",status="success"}`:    1,
			`jagad_backups_total{backup_type="full",db_type="postgresql",schedule="pg-broken",status="failed"}`: 1,
			`jagad_backup_last_status{schedule="pg-ok"}`:                                                        1,
			`jagad_backup_last_status{schedule="pg-broken"}`:                                                    0,
			`jagad_backup_last_success_timestamp_seconds{schedule="pg-broken"}`:                                 0,
			`jagad_backup_duration_seconds_count{schedule="pg-ok"}`:                                             1,
			`jagad_backups_running`:                                       0,
			`jagad_backups_queued`:                                        0,
			`jagad_config_last_reload_successful`:                         0,
			`jagad_config_resources{kind="schedule",managed_by="file"}`:   2,
			`jagad_config_resources{kind="connection",managed_by="file"}`: 1,
			`jagad_config_resources{kind="token",managed_by="api"}`:       0,
			`jagad_notifications_total{result="sent",type="webhook"}`:     0,
		}
		for series, want := range exact {
			if got, ok := s.values[series]; !ok || got != want {
				t.Errorf("%s = %v (present %v), want %v", series, got, ok, want)
			}
		}
		atLeast := map[string]float64{
			`jagad_config_reloads_total{result="failed"}`:                   1,
			`jagad_notifications_total{result="failed",type="webhook"}`:     2,
			`jagad_backup_last_success_timestamp_seconds{schedule="pg-ok"}`: float64(started.Unix()),
			`jagad_backup_last_size_bytes{schedule="pg-ok",stage="dump"}`:   1,
			`jagad_backup_last_size_bytes{schedule="pg-ok",stage="stored"}`: 1,
			`jagad_backup_bytes_total{stage="dump"}`:                        1,
			`jagad_storage_bytes{provider="local"}`:                         1,
			`jagad_config_last_reload_success_timestamp_seconds`:            float64(started.Add(-time.Minute).Unix()),
			`jagad_config_generation`:                                       1,
			`jagad_schedule_created_timestamp_seconds{schedule="pg-ok"}`:    float64(started.Add(-time.Minute).Unix()),
			`process_start_time_seconds`:                                    1,
			`go_goroutines`:                                                 1,
		}
		for series, min := range atLeast {
			if got, ok := s.values[series]; !ok || got < min {
				t.Errorf("%s = %v (present %v), want ≥ %v", series, got, ok, min)
			}
		}
		if hook.calls.Load() == 0 {
			t.Error("the webhook receiver got no request")
		}
		if got, _ := hook.auth.Load().(string); got != webhookAuth {
			t.Errorf("webhook Authorization header = %q, want the configured one", got)
		}
	})

	t.Run("the metrics of DESIGN §6", func(t *testing.T) {
		names := s.metricNames()
		for _, m := range []string{"jagad_build_info", "jagad_backups_total", "jagad_backup_duration_seconds",
			"jagad_backup_last_success_timestamp_seconds", "jagad_backup_last_status", "jagad_backup_last_size_bytes",
			"jagad_backups_running", "jagad_backups_queued", "jagad_backup_bytes_total",
			"jagad_schedule_next_run_timestamp_seconds", "jagad_restores_total", "jagad_verifications_total",
			"jagad_retention_deleted_total", "jagad_notifications_total", "jagad_config_reloads_total",
			"jagad_config_last_reload_success_timestamp_seconds", "jagad_config_last_reload_successful",
			"jagad_config_generation", "jagad_config_resources", "jagad_storage_bytes",
			"jagad_schedule_max_age_seconds", "jagad_schedule_created_timestamp_seconds", "jagad_restore_drills_total",
			"go_goroutines", "process_start_time_seconds"} {
			if !names[m] {
				t.Errorf("the scrape has no %s", m)
			}
		}
	})

	t.Run("low cardinality", func(t *testing.T) {
		var backups []map[string]any
		if err := json.Unmarshal(od.api("GET", "/api/backups", nil, http.StatusOK), &backups); err != nil {
			t.Fatalf("list backups: %v", err)
		}
		if len(backups) < 2 {
			t.Fatalf("backups: %d, want ≥ 2", len(backups))
		}
		for _, b := range backups {
			id, _ := b["id"].(string)
			if id == "" || strings.Contains(string(s.raw), id) {
				t.Errorf("backup ID %q appears in the scrape (or is empty)", id)
			}
		}
		labels := regexp.MustCompile(`\{([^}]*)\}`)
		for series := range s.values {
			m := labels.FindStringSubmatch(series)
			if m == nil || !strings.HasPrefix(series, "jagad_") {
				continue
			}
			for _, pair := range strings.Split(m[1], ",") {
				name := strings.SplitN(pair, "=", 2)[0]
				switch name {
				case "schedule", "db_type", "backup_type", "status", "stage", "result", "type", "kind", "managed_by",
					"provider", "version", "commit", "le":
				default:
					t.Errorf("%s: unexpected label %q", series, name)
				}
			}
		}
	})

	t.Run("promtool check metrics", func(t *testing.T) { checkMetrics(t, s.raw) })

	t.Run("examples use existing metrics", func(t *testing.T) {
		names := s.metricNames()
		for _, m := range referencedMetrics(t) {
			if strings.HasPrefix(m, "jagad_cluster_") {
				continue // cluster mode only: TestClusterReadyzFollowsTheGroup
			}
			if strings.HasPrefix(m, "jagad_binlog_") || strings.HasPrefix(m, "jagad_wal_") || strings.HasPrefix(m, "jagad_archive_") {
				// A series per archiving connection only, and this daemon
				// archives nothing: TestBinlogArchiveUploadsCompletedFiles and
				// TestWalArchiving (engine) check them (requireSeries).
				continue
			}
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_count"), "_sum")
			if !names[m] && !names[base] {
				t.Errorf("examples use %s, which the daemon does not expose", m)
			}
		}
	})

	t.Run("backup log lines", func(t *testing.T) {
		lines := od.logLines()
		find := func(msg, schedule string) map[string]any {
			for _, l := range lines {
				if l["msg"] == msg && l["schedule"] == schedule {
					return l
				}
			}
			t.Errorf("no %q log line for schedule %s", msg, schedule)
			return nil
		}
		if l := find("backup started", "pg-ok"); l != nil && l["database"] != "postgres" {
			t.Errorf("backup started: database = %v", l["database"])
		}
		for sched, outcome := range map[string]string{"pg-ok": "success", "pg-broken": "failed"} {
			l := find("backup finished", sched)
			if l == nil {
				continue
			}
			for _, k := range []string{"database", "bytes", "duration_seconds", "outcome"} {
				if _, ok := l[k]; !ok {
					t.Errorf("backup finished (%s) has no %s: %v", sched, k, l)
				}
			}
			if d, ok := l["duration_seconds"].(float64); !ok || d <= 0 || d > 600 {
				t.Errorf("backup finished (%s): duration_seconds = %v, want seconds as a number", sched, l["duration_seconds"])
			}
			if l["outcome"] != outcome {
				t.Errorf("backup finished (%s): outcome = %v, want %s", sched, l["outcome"], outcome)
			}
		}
		if l := find("backup finished", "pg-ok"); l != nil {
			if b, _ := l["bytes"].(float64); b <= 0 {
				t.Errorf("backup finished (pg-ok): bytes = %v, want > 0", l["bytes"])
			}
		}
	})

	t.Run("no secret in the scrape or the logs", func(t *testing.T) {
		logs := od.logs.String()
		for _, secret := range []string{adminPass, pgPass, metricsToken, "obs-webhook-auth-3309-secret", "obs-webhook-path-5517-secret"} {
			if strings.Contains(string(s.raw), secret) {
				t.Errorf("the scrape contains a secret (%d chars)", len(secret))
			}
			if strings.Contains(logs, secret) {
				t.Errorf("the logs contain a secret (%d chars): %q…", len(secret), secret[:8])
			}
		}
	})

	// A later reload that adds a schedule and removes another: the new one
	// gets its series, the removed one loses them.
	later := strings.Replace(good, "  - name: pg-broken\n", "  - name: pg-later\n", 1)
	writeFile(t, cfgPath, later)
	od.api("POST", "/api/config/reload", nil, http.StatusOK)
	s = od.waitMetric(metricsToken, `jagad_backup_last_success_timestamp_seconds{schedule="pg-later"}`, 10*time.Second,
		func(v float64) bool { return v == 0 })
	if v := s.values[`jagad_config_last_reload_successful`]; v != 1 {
		t.Errorf("after a good reload: last_reload_successful = %v, want 1", v)
	}
	if v := s.values[`jagad_schedule_max_age_seconds{schedule="pg-later"}`]; v != 37*3600 {
		t.Errorf("max age of pg-later = %v, want %v", v, 37*3600)
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Contains(string(s.raw), `schedule="pg-broken"`) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		s = od.scrape(metricsToken)
	}
	if strings.Contains(string(s.raw), `schedule="pg-broken"`) {
		t.Errorf("series of the removed schedule pg-broken remain:\n%s", obsGrepLines(s.raw, `schedule="pg-broken"`))
	}

	od.stop()
	if !strings.Contains(od.logs.String(), `"msg":"jagad stopped"`) {
		t.Error("no jagad stopped log line after shutdown")
	}
}

func obsGrepLines(b []byte, sub string) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestMetricsTokenSources checks that JAGAD_METRICS_TOKEN reaches the
// daemon and wins over the file; without either, /metrics is public.
func TestMetricsTokenSources(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{name: "environment", env: map[string]string{"JAGAD_METRICS_TOKEN": "env-token"}, want: "env-token"},
		{name: "unset: public", env: map[string]string{}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseServeFlags(nil, io.Discard, func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if err != nil {
				t.Fatal(err)
			}
			if got := (&daemon{}).metricsToken(c); got != tt.want {
				t.Errorf("metrics token = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestLoggerFormats checks JAGAD_LOG_FORMAT and JAGAD_LOG_LEVEL.
func TestLoggerFormats(t *testing.T) {
	var buf strings.Builder
	log, err := newLogger(&buf, "warn", "json")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "k", "v")
	var m map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(buf.String())), &m); err != nil || m["msg"] != "shown" || m["k"] != "v" {
		t.Errorf("json logger wrote %q (%v), want one JSON line for the warning", buf.String(), err)
	}
	for _, bad := range [][2]string{{"loud", "text"}, {"info", "xml"}} {
		if _, err := newLogger(io.Discard, bad[0], bad[1]); err == nil {
			t.Errorf("newLogger(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

// TestStartingHandler checks the probes while the daemon starts: /livez
// answers, everything else (including /readyz) is 503.
func TestStartingHandler(t *testing.T) {
	h := startingHandler()
	for path, want := range map[string]int{"/livez": http.StatusOK, "/readyz": http.StatusServiceUnavailable,
		"/metrics": http.StatusServiceUnavailable, "/api/health": http.StatusServiceUnavailable} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != want {
			t.Errorf("GET %s while starting = %d, want %d", path, rec.Code, want)
		}
	}
}
