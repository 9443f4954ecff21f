package notify

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/netguard"
)

const bodyCanary = "BODYCANARY91d2"

// TestMetadataAddressRefused: targets pointed at the link-local metadata
// address or a metadata name are refused at dial time, with the default
// options, by every HTTP channel and by SMTP.
func TestMetadataAddressRefused(t *testing.T) {
	targets := []Target{
		{Name: "w", Type: "webhook", Config: map[string]any{"url": "http://169.254.169.254/latest/meta-data/"}},
		{Name: "w6", Type: "webhook", Config: map[string]any{"url": "http://[fe80::a9fe:a9fe]/latest/meta-data/"}},
		{Name: "gcp", Type: "webhook", Config: map[string]any{"url": "http://metadata.google.internal/computeMetadata/v1/"}},
		{Name: "d", Type: "discord", Config: map[string]any{"webhook_url": "http://169.254.169.254/api/webhooks/1/x"}},
		{Name: "s", Type: "slack", Config: map[string]any{"webhook_url": "http://169.254.169.254/services/T/B/x"}},
		{Name: "tg", Type: "telegram", Config: map[string]any{"bot_token": "1:x", "chat_id": "1", "api_url": "http://169.254.169.254"}},
		{Name: "m", Type: "email", Config: map[string]any{"smtp_host": "169.254.169.254", "smtp_port": 25, "tls": "none",
			"from": "a@example.com", "to": "b@example.com"}},
	}
	for _, tgt := range targets {
		t.Run(tgt.Name, func(t *testing.T) {
			n, sleeps, _ := testNotifier(t, Options{MaxAttempts: 3})
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			err := n.Send(ctx, tgt, TestEvent())
			if err == nil || !strings.Contains(err.Error(), "blocked by the outbound network policy") {
				t.Fatalf("Send = %v, want a refusal by the network policy", err)
			}
			if ctx.Err() != nil {
				t.Fatalf("Send waited for a connection: %v", err)
			}
			if got := sleeps.got(); len(got) != 0 {
				t.Errorf("a refusal was retried (slept %v)", got)
			}
		})
	}
}

// TestErrorDoesNotEchoRemoteBody: a server answering 500 (or 400, or a 2xx
// the channel rejects) with a body that holds a canary must not see the
// canary come back in the error or the log.
func TestErrorDoesNotEchoRemoteBody(t *testing.T) {
	body := `<html>internal service ` + bodyCanary + `</html>`
	srv500 := newFakeHTTP(t, reply{status: 500, body: body})
	srv400 := newFakeHTTP(t, reply{status: 400, body: body})
	srvJSON := newFakeHTTP(t, reply{status: 500, body: `{"description":"` + bodyCanary + `","instance-id":"i-1"}`})
	tests := []struct {
		name   string
		target Target
		base   string
	}{
		{"webhook 500", Target{Name: "w", Type: "webhook", Config: map[string]any{"url": srv500.URL + "/hook"}}, ""},
		{"webhook 400", Target{Name: "w", Type: "webhook", Config: map[string]any{"url": srv400.URL + "/hook"}}, ""},
		{"discord 400", Target{Name: "d", Type: "discord", Config: map[string]any{"webhook_url": srv400.URL + "/api/webhooks/1/t"}}, ""},
		{"slack 500", Target{Name: "s", Type: "slack", Config: map[string]any{"webhook_url": srv500.URL + "/services/T/B/t"}}, ""},
		{"telegram non-telegram JSON", Target{Name: "tg", Type: "telegram", Config: map[string]any{"bot_token": "1:x", "chat_id": "1"}}, srvJSON.URL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, _, logs := testNotifier(t, Options{MaxAttempts: 2, TelegramBaseURL: tt.base})
			err := n.Send(context.Background(), tt.target, TestEvent())
			if err == nil {
				t.Fatal("Send succeeded; the test needs a failure")
			}
			if !strings.Contains(err.Error(), "HTTP ") {
				t.Errorf("error %q does not report the status", err)
			}
			if strings.Contains(err.Error(), bodyCanary) || strings.Contains(logs.String(), bodyCanary) {
				t.Errorf("the remote body is echoed: error %q\nlog:\n%s", err, logs.String())
			}
		})
	}
}

// TestRebindingNameRefused: a name that resolves to the test server for the
// first delivery and to the metadata address for the second (DNS rebinding)
// is refused on the second, because the check runs on each dial's resolved
// address. SMTP goes through the same guard.
func TestRebindingNameRefused(t *testing.T) {
	srv := newFakeHTTP(t, reply{status: 204})
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	var calls atomic.Int64
	guard := netguard.New(netguard.Options{Policy: netguard.DefaultPolicy(),
		LookupIP: func(_ context.Context, host string) ([]netip.Addr, error) {
			if host != "hooks.rebind.test" {
				return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
			}
			if calls.Add(1) == 1 {
				return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
			}
			return []netip.Addr{netip.MustParseAddr("169.254.169.254")}, nil
		}})
	n, _, _ := testNotifier(t, Options{MaxAttempts: 1, Guard: guard})
	tgt := Target{Name: "w", Type: "webhook", Config: map[string]any{"url": "http://hooks.rebind.test:" + port + "/hook"}}
	if err := n.Send(context.Background(), tgt, TestEvent()); err != nil {
		t.Fatalf("first Send (name resolves to loopback): %v", err)
	}
	n.client.CloseIdleConnections() // the next request must dial again
	err := n.Send(context.Background(), tgt, TestEvent())
	if err == nil || !strings.Contains(err.Error(), "link-local address blocked") {
		t.Fatalf("second Send (name now resolves to 169.254.169.254) = %v, want refused", err)
	}
	if got := len(srv.requests()); got != 1 {
		t.Errorf("server saw %d requests, want 1", got)
	}

	mail := Target{Name: "m", Type: "email", Config: map[string]any{"smtp_host": "hooks.rebind.test", "smtp_port": 25,
		"tls": "none", "from": "a@example.com", "to": "b@example.com"}}
	if err := n.Send(context.Background(), mail, TestEvent()); err == nil || !strings.Contains(err.Error(), "link-local address blocked") {
		t.Fatalf("SMTP to the rebinding name = %v, want refused", err)
	}
}
