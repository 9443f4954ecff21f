package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/jagad/jagad/engine/dbclient"
)

const canary = "CANARY7f3a9c"

// leakyDB fails with the password in its error, to prove the API scrubs.
type leakyDB struct{}

func (leakyDB) Ping(_ context.Context, t dbclient.Target) error {
	return fmt.Errorf("password authentication failed (password %s)", t.Password)
}

func (leakyDB) ListDatabases(_ context.Context, t dbclient.Target) ([]dbclient.DBInfo, error) {
	return nil, fmt.Errorf("cannot list with %s", t.Password)
}

func TestSecretsNeverLeak(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "jagad_build_info 1") })
	e := newEnv(t, func(d *Deps) {
		d.DB = leakyDB{}
		d.Metrics = metrics
		d.MetricsToken = func() string { return "metrics-token-1" }
	})
	f := newFixture(e)
	sec := func(s string) string { return canary + "-" + s }
	e.call("PUT", "/api/connections/"+f.conn, map[string]any{"password": sec("pg")}, 200)
	e.call("PUT", "/api/storage-providers/"+f.prov, map[string]any{"secret_key": sec("s3")}, 200)
	e.call("PUT", "/api/notifications/"+f.notif, map[string]any{"config_json": `{"bot_token":"` + sec("tg") + `","chat_id":"1"}`}, 200)
	notifs := map[string]string{
		"discord": `{"webhook_url":"https://discord.example.com/api/webhooks/` + sec("dc") + `"}`,
		"slack":   `{"webhook_url":"https://hooks.slack.example.com/services/` + sec("sl") + `"}`,
		"webhook": `{"url":"https://hook.example.com/` + sec("wh") + `","headers":{"X-Key":"` + sec("hdr") + `"}}`,
		"email":   `{"smtp_host":"smtp.example.com","smtp_port":587,"from":"a@example.com","to":["b@example.com"],"smtp_password":"` + sec("smtp") + `"}`,
	}
	var ids []string
	for typ, cfg := range notifs {
		ids = append(ids, idOf(t, e.call("POST", "/api/notifications", map[string]any{"name": "n-" + typ, "notif_type": typ, "config_json": cfg}, 201).Body))
	}
	e.eng.leak = true
	e.eng.payload = []byte("backup bytes")

	var bodies []string
	send := func(r req) {
		w := e.send(r)
		bodies = append(bodies, fmt.Sprintf("%s %s → %d %s %v", r.method, r.path, w.Code, w.Body, w.Header()))
	}
	for _, ep := range endpoints(f) {
		send(req{method: ep.method, path: ep.path, body: ep.body, header: map[string]string{"Content-Type": contentTypeFor(ep)}})
	}
	for _, id := range ids {
		send(req{method: "GET", path: "/api/notifications/" + id})
		send(req{method: "POST", path: "/api/notifications/" + id + "/test"})
	}
	send(req{method: "POST", path: "/api/notifications/" + f.notif + "/test"})
	send(req{method: "POST", path: "/api/storage-providers/" + f.prov + "/test"})
	send(req{method: "POST", path: "/api/connections/" + f.conn + "/test"})
	send(req{method: "POST", path: "/api/connections/" + f.conn + "/discover"})
	send(req{method: "POST", path: "/api/connections/_new/test", body: map[string]any{"db_type": "mysql", "host": "h", "username": "u", "password": sec("new")}})
	send(req{method: "GET", path: "/api/backups/" + f.backup + "/download"})
	send(req{method: "GET", path: "/api/config/export"})
	send(req{method: "GET", path: "/metrics", noAuth: true, header: map[string]string{"Authorization": "Bearer metrics-token-1"}})
	send(req{method: "GET", path: "/api/health", noAuth: true})

	all := strings.Join(bodies, "\n")
	for _, want := range []string{`"success":false`, `"status":"failed"`, "jagad_build_info", "${CONN_PROD_PG_PASSWORD}", "${STORAGE_S3_SECRET_KEY}", "${NOTIF_N_WEBHOOK_HEADER_X_KEY}"} {
		if !strings.Contains(all, want) {
			t.Errorf("responses lack %q (the walk did not reach every endpoint)", want)
		}
	}
	if strings.Contains(all, canary) {
		for _, b := range bodies {
			if strings.Contains(b, canary) {
				t.Errorf("secret in response: %s", b)
			}
		}
	}
	if logs := e.logs.String(); strings.Contains(logs, canary) || !strings.Contains(logs, "http request") {
		t.Errorf("secret in logs (or no access log): %s", logs)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	e := newEnv(t)
	if w := e.send(req{method: "GET", path: "/metrics", noAuth: true}); w.Code != 404 {
		t.Errorf("metrics without handler: %d", w.Code)
	}
	m := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "up 1") })
	e = newEnv(t, func(d *Deps) { d.Metrics = m; d.MetricsToken = func() string { return "tok" } })
	if w := e.send(req{method: "GET", path: "/metrics", noAuth: true}); w.Code != 401 {
		t.Errorf("metrics without token: %d", w.Code)
	}
	if w := e.send(req{method: "GET", path: "/metrics", token: "tok"}); w.Code != 200 || w.Body.String() != "up 1\n" {
		t.Errorf("metrics with token: %d %s", w.Code, w.Body)
	}
}

func TestProbes(t *testing.T) {
	notReady := fmt.Errorf("config not loaded yet")
	e := newEnv(t, func(d *Deps) { d.Ready = func() error { return notReady } })
	if w := e.send(req{method: "GET", path: "/readyz", noAuth: true}); w.Code != 503 || !strings.Contains(w.Body.String(), "not ready") {
		t.Errorf("readyz: %d %s", w.Code, w.Body)
	}
	notReady = nil
	if w := e.send(req{method: "GET", path: "/readyz", noAuth: true}); w.Code != 200 {
		t.Errorf("readyz when ready: %d %s", w.Code, w.Body)
	}
	if w := e.send(req{method: "GET", path: "/livez", noAuth: true}); w.Code != 200 {
		t.Errorf("livez: %d", w.Code)
	}
}
