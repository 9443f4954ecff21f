package notify

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	successText = "*✅ Backup SUCCESS*\nDatabase: `myapp_production` (postgresql)\nSize: 523.38 KB\nDuration: 3.2 sec\n" +
		"Backup ID: `bck_abc123`\n```BACKUP: streaming postgresql myapp_production\nDUMP: done```"
)

func failureText() string {
	return "*❌ Backup FAILED*\nDatabase: `myapp_production` (postgresql)\nSize: —\nDuration: —\n" +
		"Backup ID: `bck_def456`\n```" + strings.Repeat("y", 474) + "\nERROR: connection refused```"
}

func assertCommonHeaders(t *testing.T, r recorded) {
	t.Helper()
	if r.Method != "POST" {
		t.Errorf("method = %s, want POST", r.Method)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := r.Header.Get("User-Agent"); got != "jagad" {
		t.Errorf("User-Agent = %q", got)
	}
}

// sendOne sends ev to target and returns the one request srv received.
func sendOne(t *testing.T, n *Notifier, srv *fakeHTTP, target Target, ev Event) recorded {
	t.Helper()
	if err := n.Send(context.Background(), target, ev); err != nil {
		t.Fatalf("Send: %v", err)
	}
	reqs := srv.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	return reqs[0]
}

// assertJSONPost checks a chat channel's request: the common headers, its
// path and its JSON body.
func assertJSONPost(t *testing.T, r recorded, path string, want map[string]any) {
	t.Helper()
	assertCommonHeaders(t, r)
	if r.Path != path {
		t.Errorf("path = %q, want %q", r.Path, path)
	}
	if got := decodeJSON(t, r.Body); !reflect.DeepEqual(got, want) {
		t.Errorf("body =\n%#v\nwant\n%#v", got, want)
	}
}

func TestTelegramRequest(t *testing.T) {
	tests := []struct {
		name string
		ev   Event
		text string
	}{
		{"success", successEvent(), successText},
		{"failure", failureEvent(), failureText()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeHTTP(t, reply{status: 200, body: `{"ok":true,"result":{"message_id":1}}`})
			n, _, _ := testNotifier(t, Options{TelegramBaseURL: srv.URL})
			target := Target{Name: "ops", Type: "telegram", Config: map[string]any{"bot_token": "123:ABC-def", "chat_id": "-1001234567890"}}
			want := map[string]any{"chat_id": "-1001234567890", "text": tt.text, "parse_mode": "Markdown", "disable_web_page_preview": true}
			assertJSONPost(t, sendOne(t, n, srv, target, tt.ev), "/bot123:ABC-def/sendMessage", want)
		})
	}
}

func TestTelegramAPIURLOverride(t *testing.T) {
	srv := newFakeHTTP(t, reply{status: 200, body: `{"ok":true}`})
	// The notifier default points nowhere; the target's api_url wins.
	n, _, _ := testNotifier(t, Options{TelegramBaseURL: "http://" + closedAddr(t), MaxAttempts: 1})
	target := Target{Name: "ops", Type: "telegram", Config: map[string]any{
		"bot_token": "t0k", "chat_id": 42, "api_url": srv.URL + "/tg/"}}
	if err := n.Send(context.Background(), target, TestEvent()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	reqs := srv.requests()
	if len(reqs) != 1 || reqs[0].Path != "/tg/bott0k/sendMessage" {
		t.Fatalf("requests = %+v", reqs)
	}
	if got := decodeJSON(t, reqs[0].Body)["chat_id"]; got != "42" {
		t.Errorf("chat_id = %#v, want \"42\"", got)
	}
}

func TestTelegramDescriptionSurfaced(t *testing.T) {
	tests := []struct {
		name   string
		status int
	}{
		{"http 400", 400},
		{"http 200 with ok false", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeHTTP(t, reply{status: tt.status, body: `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`})
			n, _, _ := testNotifier(t, Options{TelegramBaseURL: srv.URL})
			target := Target{Name: "ops", Type: "telegram", Config: map[string]any{"bot_token": "123:SECRETTOKEN", "chat_id": "1"}}
			err := n.Send(context.Background(), target, successEvent())
			if err == nil || !strings.Contains(err.Error(), "Bad Request: chat not found") {
				t.Fatalf("error = %v, want the Telegram description", err)
			}
			if strings.Contains(err.Error(), "SECRETTOKEN") {
				t.Fatalf("error leaks the token: %v", err)
			}
			if got := len(srv.requests()); got != 1 {
				t.Errorf("%d requests, want 1 (no retry)", got)
			}
		})
	}
}

func TestDiscordAndSlackRequests(t *testing.T) {
	tests := []struct {
		name string
		typ  string
		ev   Event
		key  string
		want string
	}{
		{"discord success", "discord", successEvent(), "content",
			"**✅ Backup SUCCESS**\nDatabase: `myapp_production` (postgresql)\nSize: 523.38 KB\nDuration: 3.2 sec\n" +
				"Backup ID: `bck_abc123`\n```BACKUP: streaming postgresql myapp_production\nDUMP: done```"},
		{"discord failure", "discord", failureEvent(), "content", strings.ReplaceAll(failureText(), "*", "**")},
		{"slack success", "slack", successEvent(), "text",
			"*✅ Backup SUCCESS*\nDatabase: myapp_production (postgresql)\nSize: 523.38 KB\nDuration: 3.2 sec\n" +
				"Backup ID: bck_abc123\nBACKUP: streaming postgresql myapp_production\nDUMP: done"},
		{"slack failure", "slack", failureEvent(), "text",
			"*❌ Backup FAILED*\nDatabase: myapp_production (postgresql)\nSize: —\nDuration: —\n" +
				"Backup ID: bck_def456\n" + strings.Repeat("y", 474) + "\nERROR: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeHTTP(t, reply{status: 204})
			n, _, _ := testNotifier(t, Options{})
			target := Target{Name: "chat", Type: tt.typ, Config: map[string]any{"webhook_url": srv.URL + "/hooks/T000/B000/XXXX"}}
			assertJSONPost(t, sendOne(t, n, srv, target, tt.ev), "/hooks/T000/B000/XXXX", map[string]any{tt.key: tt.want})
		})
	}
}

func TestWebhookRequest(t *testing.T) {
	started := time.Date(2026, 1, 1, 2, 0, 1, 0, time.UTC)
	ok := successEvent()
	ok.StartedAt, ok.CompletedAt = started, started.Add(4*time.Second)
	tests := []struct {
		name   string
		method string
		ev     Event
		want   map[string]any
	}{
		{"success default POST", "", ok, map[string]any{
			"event": "backup.succeeded", "backup_id": "bck_abc123", "database": "myapp_production",
			"db_type": "postgresql", "status": "success", "size_bytes": float64(535940), "duration_ms": float64(3240),
			"backup_type": "full", "storage_path": "backups/prod-pg/myapp_production/bck_abc123-20260101-020000.pgdump.gz",
			"started_at": "2026-01-01T02:00:01Z", "completed_at": "2026-01-01T02:00:05Z",
			"log_tail": "BACKUP: streaming postgresql myapp_production\nDUMP: done",
			"schedule": "nightly", "connection": "prod-pg", "error": "",
		}},
		{"failure with PUT", "put", failureEvent(), map[string]any{
			"event": "backup.failed", "backup_id": "bck_def456", "database": "myapp_production",
			"db_type": "postgresql", "status": "failed", "size_bytes": float64(0), "duration_ms": float64(0),
			"backup_type": "full", "storage_path": "", "started_at": nil, "completed_at": nil,
			"log_tail": strings.Repeat("y", 474) + "\nERROR: connection refused",
			"schedule": "nightly", "connection": "prod-pg", "error": "pg_dump exited 1",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeHTTP(t, reply{status: 200})
			n, _, _ := testNotifier(t, Options{})
			cfg := map[string]any{"url": srv.URL + "/hook?k=v", "headers": map[string]any{"Authorization": "Bearer tok", "X-Env": "prod"}}
			if tt.method != "" {
				cfg["method"] = tt.method
			}
			r := sendOne(t, n, srv, Target{Name: "wh", Type: "webhook", Config: cfg}, tt.ev)
			wantMethod := "POST"
			if tt.method != "" {
				wantMethod = strings.ToUpper(tt.method)
			}
			if r.Method != wantMethod || r.Path != "/hook?k=v" {
				t.Errorf("request = %s %s", r.Method, r.Path)
			}
			for k, v := range map[string]string{"Content-Type": "application/json", "User-Agent": "jagad", "Authorization": "Bearer tok", "X-Env": "prod"} {
				if got := r.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if got := decodeJSON(t, r.Body); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("payload =\n%#v\nwant\n%#v", got, tt.want)
			}
		})
	}
}
