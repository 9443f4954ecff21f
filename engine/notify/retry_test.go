package notify

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func discordTarget(url string) Target {
	return Target{Name: "chat", Type: "discord", Config: map[string]any{"webhook_url": url}}
}

func TestRetryPolicy(t *testing.T) {
	tests := []struct {
		name       string
		replies    []reply
		opts       Options
		wantReqs   int
		wantSleeps []time.Duration
		wantErr    string // "" = success
	}{
		{"429 with Retry-After seconds then success",
			[]reply{{status: 429, header: map[string]string{"Retry-After": "7"}}, {status: 204}},
			Options{}, 2, []time.Duration{7 * time.Second}, ""},
		{"429 Retry-After capped by MaxRetryAfter",
			[]reply{{status: 429, header: map[string]string{"Retry-After": "3600"}}, {status: 204}},
			Options{MaxRetryAfter: 5 * time.Second}, 2, []time.Duration{5 * time.Second}, ""},
		{"429 Retry-After default cap is 60s",
			[]reply{{status: 429, header: map[string]string{"Retry-After": "3600"}}, {status: 204}},
			Options{}, 2, []time.Duration{60 * time.Second}, ""},
		{"429 Retry-After as HTTP date",
			[]reply{{status: 429, header: map[string]string{"Retry-After": testNow.Add(30 * time.Second).Format(http.TimeFormat)}}, {status: 204}},
			Options{}, 2, []time.Duration{30 * time.Second}, ""},
		{"429 without Retry-After uses backoff",
			[]reply{{status: 429}, {status: 204}},
			Options{}, 2, []time.Duration{time.Millisecond}, ""},
		{"500 every time gives up after MaxAttempts",
			[]reply{{status: 500, body: "boom"}},
			Options{MaxAttempts: 4}, 4, []time.Duration{1 * time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond},
			"giving up after 4 attempts: HTTP 500"}, // the body is never quoted
		{"default MaxAttempts is 3",
			[]reply{{status: 503}},
			Options{}, 3, []time.Duration{1 * time.Millisecond, 2 * time.Millisecond}, "giving up after 3 attempts: HTTP 503"},
		{"500 then success",
			[]reply{{status: 502}, {status: 200}},
			Options{}, 2, []time.Duration{time.Millisecond}, ""},
		{"400 is not retried",
			[]reply{{status: 400, body: `{"message":"Invalid Form Body"}`}},
			Options{}, 1, nil, `HTTP 400`},
		{"404 is not retried",
			[]reply{{status: 404}},
			Options{}, 1, nil, "HTTP 404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeHTTP(t, tt.replies...)
			n, rec, _ := testNotifier(t, tt.opts)
			err := n.Send(context.Background(), discordTarget(srv.URL+"/api/webhooks/1/x"), successEvent())
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Send: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.HasSuffix(err.Error(), tt.wantErr)) {
				t.Fatalf("error = %v, want it to end with %q", err, tt.wantErr)
			}
			if got := len(srv.requests()); got != tt.wantReqs {
				t.Errorf("%d requests, want %d", got, tt.wantReqs)
			}
			if got := rec.got(); !slices.Equal(got, tt.wantSleeps) {
				t.Errorf("sleeps = %v, want %v", got, tt.wantSleeps)
			}
		})
	}
}

func TestTelegramRetryAfterFromBody(t *testing.T) {
	srv := newFakeHTTP(t,
		reply{status: 429, body: `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}}`},
		reply{status: 200, body: `{"ok":true}`})
	n, rec, _ := testNotifier(t, Options{TelegramBaseURL: srv.URL})
	err := n.Send(context.Background(), Target{Name: "tg", Type: "telegram", Config: map[string]any{"bot_token": "t", "chat_id": "1"}}, successEvent())
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := rec.got(); !slices.Equal(got, []time.Duration{3 * time.Second}) {
		t.Errorf("sleeps = %v, want [3s]", got)
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	target := newFakeHTTP(t, reply{status: 200})
	srv := newFakeHTTP(t, reply{status: http.StatusMovedPermanently, header: map[string]string{"Location": target.URL + "/moved"}})
	clients := map[string]*http.Client{
		"default client": nil,
		// http.Client follows redirects by default; the notifier must not.
		"caller's client": {Timeout: 5 * time.Second},
	}
	for name, client := range clients {
		t.Run(name, func(t *testing.T) {
			n, _, _ := testNotifier(t, Options{HTTPClient: client})
			before := len(srv.requests())
			err := n.Send(context.Background(), discordTarget(srv.URL+"/hook"), successEvent())
			if err == nil || !strings.Contains(err.Error(), "HTTP 301") {
				t.Fatalf("error = %v, want HTTP 301", err)
			}
			if got := len(srv.requests()) - before; got != 1 {
				t.Errorf("%d requests, want 1 (no retry)", got)
			}
			if got := len(target.requests()); got != 0 {
				t.Errorf("redirect target received %d requests", got)
			}
		})
	}
	if clients["caller's client"].CheckRedirect != nil {
		t.Error("the caller's client was modified")
	}
}

func TestContextCancellationStopsRetries(t *testing.T) {
	srv := newFakeHTTP(t, reply{status: 500})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sleeps := 0
	n, _, _ := testNotifier(t, Options{MaxAttempts: 10, Sleep: func(ctx context.Context, d time.Duration) error {
		sleeps++
		cancel()
		return ctx.Err()
	}})
	err := n.Send(ctx, discordTarget(srv.URL), successEvent())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if got := len(srv.requests()); got != 1 || sleeps != 1 {
		t.Errorf("requests = %d, sleeps = %d; want 1 and 1", got, sleeps)
	}

	// An already-cancelled context sends nothing.
	err = n.Send(ctx, discordTarget(srv.URL), successEvent())
	if !errors.Is(err, context.Canceled) || len(srv.requests()) != 1 {
		t.Fatalf("error = %v, requests = %d", err, len(srv.requests()))
	}
}

func TestDefaultSleepHonoursContext(t *testing.T) {
	n := New(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := n.sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("sleep error = %v", err)
	}
	if time.Since(start) > time.Second {
		t.Fatal("sleep ignored the cancelled context")
	}
	if err := n.sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("short sleep: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	n := New(Options{})
	if n.client.Timeout != 15*time.Second || n.client.CheckRedirect == nil {
		t.Errorf("default client: timeout %v, redirect policy set %v", n.client.Timeout, n.client.CheckRedirect != nil)
	}
	if n.maxAttempts != 3 || n.maxRetryAfter != time.Minute || n.telegramBase != "https://api.telegram.org" {
		t.Errorf("defaults: attempts %d, max retry-after %v, telegram %q", n.maxAttempts, n.maxRetryAfter, n.telegramBase)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	for i, w := range want {
		if got := n.backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := n.backoff(100); got != 30*time.Second {
		t.Errorf("backoff(100) = %v", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-3", 0},
		{"12", 12 * time.Second},
		{"junk", 0},
		{testNow.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{testNow.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"99999999999", 24 * time.Hour},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, testNow); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestUnknownTypeAndInvalidConfig(t *testing.T) {
	n, _, _ := testNotifier(t, Options{})
	err := n.Send(context.Background(), Target{Name: "x", Type: "pager"}, successEvent())
	if !errors.Is(err, ErrUnknownType) {
		t.Errorf("unknown type: %v", err)
	}
	err = n.Send(context.Background(), Target{Name: "x", Type: "slack", Config: map[string]any{}}, successEvent())
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "webhook_url is required") {
		t.Errorf("invalid config: %v", err)
	}
}
