package notify

import (
	"context"
	"crypto/tls"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

const canary = "CANARY7f3a9e"

// TestSecretsNeverLeak sends to targets whose secrets carry a marker, against
// servers that refuse connections, fail, or even echo the request (path and
// headers) back in their error body, and checks that neither the returned
// error nor the log output contains the marker.
func TestSecretsNeverLeak(t *testing.T) {
	cert, pool := testCert(t)
	echo500 := newFakeHTTP(t, reply{status: 500, echo: true})
	echo400 := newFakeHTTP(t, reply{status: 400, echo: true})
	tgEcho := newFakeHTTP(t, reply{status: 401, body: `{"ok":false,"description":"Unauthorized for bot` + canary + `"}`})
	refused := "http://" + closedAddr(t)
	smtpEcho := startSMTP(t, smtpOpts{cert: cert, implicit: true, user: "u", pass: "right", echoAuth: true})
	smtpRefused := closedAddr(t)

	tests := []struct {
		name   string
		target Target
		base   string
	}{
		{"telegram refused", Target{Name: "tg", Type: "telegram", Config: map[string]any{"bot_token": "123:" + canary, "chat_id": "1"}}, refused},
		{"telegram echo 500", Target{Name: "tg", Type: "telegram", Config: map[string]any{"bot_token": "123:" + canary, "chat_id": "1"}}, echo500.URL},
		{"telegram description echoes token", Target{Name: "tg", Type: "telegram", Config: map[string]any{"bot_token": canary, "chat_id": "1"}}, tgEcho.URL},
		{"discord refused", Target{Name: "d", Type: "discord", Config: map[string]any{"webhook_url": refused + "/api/webhooks/1/" + canary}}, ""},
		{"discord echo", Target{Name: "d", Type: "discord", Config: map[string]any{"webhook_url": echo400.URL + "/api/webhooks/1/" + canary}}, ""},
		{"slack refused", Target{Name: "s", Type: "slack", Config: map[string]any{"webhook_url": refused + "/services/T/B/" + canary}}, ""},
		{"slack echo", Target{Name: "s", Type: "slack", Config: map[string]any{"webhook_url": echo500.URL + "/services/T/B/" + canary}}, ""},
		{"webhook refused", Target{Name: "w", Type: "webhook", Config: map[string]any{
			"url": refused + "/hook?token=" + canary, "headers": map[string]any{"Authorization": "Bearer " + canary}}}, ""},
		{"webhook echo", Target{Name: "w", Type: "webhook", Config: map[string]any{
			"url": echo400.URL + "/hook/" + canary, "headers": map[string]any{"X-Api-Key": canary + "-key"}}}, ""},
		{"webhook userinfo refused", Target{Name: "w", Type: "webhook", Config: map[string]any{
			"url": "http://user:" + canary + "@" + strings.TrimPrefix(refused, "http://") + "/x"}}, ""},
		{"email refused", Target{Name: "m", Type: "email", Config: map[string]any{
			"smtp_host": "127.0.0.1", "smtp_port": portOf(t, smtpRefused), "tls": "tls", "smtp_username": "u",
			"smtp_password": canary, "from": "a@example.com", "to": "b@example.com"}}, ""},
		{"email server echoes credentials", Target{Name: "m", Type: "email", Config: map[string]any{
			"smtp_host": "127.0.0.1", "smtp_port": smtpEcho.port(), "tls": "tls", "smtp_username": "u",
			"smtp_password": canary, "from": "a@example.com", "to": "b@example.com"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, _, logs := testNotifier(t, Options{TelegramBaseURL: tt.base, MaxAttempts: 2, TLSConfig: &tls.Config{RootCAs: pool}})
			err := n.Send(context.Background(), tt.target, successEvent())
			if err == nil {
				t.Fatal("Send succeeded; the test needs a failure")
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("error leaks the secret: %v", err)
			}
			if logs.String() == "" {
				t.Fatal("nothing was logged; the log assertion would prove nothing")
			}
			if strings.Contains(logs.String(), canary) {
				t.Errorf("log leaks the secret:\n%s", logs.String())
			}
			if !strings.Contains(err.Error(), tt.target.Name) {
				t.Errorf("error does not name the target: %v", err)
			}
		})
	}
}

func portOf(tb testing.TB, addr string) int {
	tb.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		tb.Fatal(err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		tb.Fatal(err)
	}
	return port
}

// TestRedactorCoversURLForms checks the scrubber on its own: full URL,
// escaped forms, path and query of a secret URL all disappear.
func TestRedactorCoversURLForms(t *testing.T) {
	u := "https://hooks.example.com/services/T0/B0/" + canary + "?sig=" + canary + "x"
	red := newRedactor("slack", map[string]any{"webhook_url": u})
	text := `Post "` + u + `": dial tcp; path /services/T0/B0/` + canary + `; escaped ` + url.QueryEscape(u) + " " + url.PathEscape(u) +
		"; segment %2F" + canary
	got := red.scrub(text)
	if strings.Contains(got, canary) {
		t.Fatalf("scrub left the secret: %s", got)
	}
	if !strings.Contains(got, "dial tcp") {
		t.Fatalf("scrub removed non-secret text: %s", got)
	}
}
