package api

import (
	"errors"
	"strings"
	"testing"
)

// TestHealthFollowsReadiness: GET /api/health is not "ok" while the daemon
// is not ready (no valid configuration in force), in the reference's shape
// plus ready and reason.
func TestHealthFollowsReadiness(t *testing.T) {
	var notReady error = errors.New("no valid configuration in force yet")
	e := newEnv(t, func(d *Deps) { d.Ready = func() error { return notReady } })

	w := e.send(req{method: "GET", path: "/api/health", noAuth: true})
	hasFields(t, endpoint{method: "GET", path: "/api/health", fields: []string{"status", "version", "encryption", "providers", "legacy_storage", "ready", "reason"}}, w.Body.Bytes())
	body := w.Body.String()
	if w.Code != 503 || !strings.Contains(body, `"status":"not ready"`) || !strings.Contains(body, `"ready":false`) || !strings.Contains(body, "no valid configuration") {
		t.Errorf("health when not ready: %d %s", w.Code, body)
	}

	notReady = nil
	w = e.send(req{method: "GET", path: "/api/health", noAuth: true})
	hasFields(t, endpoint{method: "GET", path: "/api/health", fields: []string{"status", "version", "encryption", "providers", "legacy_storage", "ready"}}, w.Body.Bytes())
	if body := w.Body.String(); w.Code != 200 || !strings.Contains(body, `"status":"ok"`) || !strings.Contains(body, `"ready":true`) || strings.Contains(body, "reason") {
		t.Errorf("health when ready: %d %s", w.Code, body)
	}
}
