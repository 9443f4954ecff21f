package api

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/jagad/jagad/state"
)

// TestAccessLogLevels: reads are DEBUG (a 3 s poller must not flood the
// INFO log), writes INFO whatever their outcome, server errors WARN; the
// duration is a number of seconds.
func TestAccessLogLevels(t *testing.T) {
	logs := &syncBuffer{}
	e := newEnv(t, func(d *Deps) {
		d.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		d.Engine = failingEngine{&fakeEngine{}} // run now: an unclassified error, 500
	})
	put(t, e.store, state.Schedule{Meta: state.Meta{ID: "sch_boom", ManagedBy: state.ManagedByAPI}, ScheduleSpec: state.ScheduleSpec{Name: "boom"}})
	type want struct{ method, path, level string }
	steps := []struct {
		r    req
		want want
	}{
		{req{method: "GET", path: "/api/schedules"}, want{"GET", "/api/schedules", "DEBUG"}},
		{req{method: "GET", path: "/readyz", noAuth: true}, want{"GET", "/readyz", "DEBUG"}},
		{req{method: "GET", path: "/api/auth/check", token: "wrong"}, want{"GET", "/api/auth/check", "DEBUG"}},
		{req{method: "POST", path: "/api/connections", body: map[string]any{"name": "n", "db_type": "mysql", "host": "h", "username": "u"}},
			want{"POST", "/api/connections", "INFO"}},
		{req{method: "DELETE", path: "/api/schedules/sch_missing", cookie: true,
			header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}},
			want{"DELETE", "/api/schedules/sch_missing", "INFO"}},
		{req{method: "POST", path: "/api/schedules/sch_boom/run"}, want{"POST", "/api/schedules/sch_boom/run", "WARN"}},
	}
	for _, s := range steps {
		e.send(s.r)
	}
	var got []want
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if rec["msg"] != "http request" || rec["path"] == "/api/auth/login" {
			continue
		}
		if d, ok := rec["duration_seconds"].(float64); !ok || d < 0 || d > 60 {
			t.Errorf("duration_seconds %#v (%T) in %s, want a number of seconds", rec["duration_seconds"], rec["duration_seconds"], sc.Text())
		}
		if _, ok := rec["latency_ms"]; ok {
			t.Errorf("latency_ms still logged: %s", sc.Text())
		}
		got = append(got, want{rec["method"].(string), rec["path"].(string), rec["level"].(string)})
	}
	if len(got) != len(steps) {
		t.Fatalf("%d access log lines, want %d:\n%s", len(got), len(steps), logs)
	}
	for i, s := range steps {
		if got[i] != s.want {
			t.Errorf("line %d: %v, want %v", i, got[i], s.want)
		}
	}
}
