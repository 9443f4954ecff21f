package notify

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseConfigJSON(t *testing.T) {
	const secret = "S3CRET-CANARY"
	tests := []struct {
		name    string
		typ     string
		json    string
		wantErr string // substring; "" means valid
	}{
		{"telegram ok", "telegram", `{"bot_token":"123:abc","chat_id":"-1001234567890"}`, ""},
		{"telegram numeric chat id", "telegram", `{"bot_token":"123:abc","chat_id":-1001234567890}`, ""},
		{"telegram missing token", "telegram", `{"chat_id":"1"}`, "bot_token is required"},
		{"telegram token with slash", "telegram", `{"bot_token":"` + secret + `/x","chat_id":"1"}`, "bot_token has characters"},
		{"telegram bad api_url", "telegram", `{"bot_token":"t","chat_id":"1","api_url":"ftp://x"}`, "api_url"},
		{"empty object", "discord", `{}`, "config_json is required"},
		{"not an object", "discord", `[1]`, "must be a JSON object"},
		{"trailing data", "discord", `{"webhook_url":"https://x/y"} {}`, "trailing data"},
		{"discord ok", "discord", `{"webhook_url":"https://discord.com/api/webhooks/1/` + secret + `"}`, ""},
		{"slack relative url", "slack", `{"webhook_url":"/services/` + secret + `"}`, "webhook_url must be an absolute"},
		{"webhook ok", "webhook", `{"url":"https://h.example/x","method":"put","headers":{"Authorization":"Bearer ` + secret + `"}}`, ""},
		{"webhook bad method", "webhook", `{"url":"https://h.example/x","method":"DELETE"}`, "method must be"},
		{"webhook header not string", "webhook", `{"url":"https://h.example/x","headers":{"X-N":1}}`, "headers values must be strings"},
		{"webhook header injection", "webhook", `{"url":"https://h.example/x","headers":{"X-A":"a\r\nX-B: ` + secret + `"}}`, "invalid header"},
		{"email ok list", "email", `{"smtp_host":"smtp.example.com","smtp_port":587,"smtp_username":"u","smtp_password":"` + secret + `","from":"Jagad <b@example.com>","to":["a@example.com"]}`, ""},
		{"email ok comma string", "email", `{"smtp_host":"smtp.example.com","from":"b@example.com","to":"a@example.com, c@example.com"}`, ""},
		{"email no to", "email", `{"smtp_host":"smtp.example.com","from":"b@example.com"}`, "to is required"},
		{"email bad to", "email", `{"smtp_host":"h","from":"b@example.com","to":["not-an-address"]}`, "to[0] is not an email address"},
		{"email bad port", "email", `{"smtp_host":"h","smtp_port":"x","from":"b@example.com","to":"a@example.com"}`, "smtp_port must be an integer"},
		{"email bad tls", "email", `{"smtp_host":"h","tls":"ssl","from":"b@example.com","to":"a@example.com"}`, "tls must be"},
		{"email auth over plain text to remote host", "email", `{"smtp_host":"smtp.example.com","tls":"none","smtp_username":"u","smtp_password":"` + secret + `","from":"b@example.com","to":"a@example.com"}`, "refusing to send SMTP credentials"},
		{"email auth over plain text to localhost", "email", `{"smtp_host":"localhost","tls":"none","smtp_username":"u","smtp_password":"p","from":"b@example.com","to":"a@example.com"}`, ""},
		{"email bad template", "email", `{"smtp_host":"h","from":"b@example.com","to":"a@example.com","subject_template":"{{.Status"}`, "subject_template does not parse"},
		{"unknown type", "pager", `{"a":"b"}`, "unknown notification type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseConfigJSON(tt.typ, tt.json)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if len(cfg) == 0 {
					t.Fatal("empty config returned")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error leaks a secret value: %v", err)
			}
			if !errors.Is(err, ErrInvalidConfig) && !errors.Is(err, ErrUnknownType) {
				t.Fatalf("error %v is neither ErrInvalidConfig nor ErrUnknownType", err)
			}
		})
	}
}

func TestSecretKeys(t *testing.T) {
	tests := []struct {
		typ  string
		want []string
	}{
		{"telegram", []string{"bot_token"}},
		{"discord", []string{"webhook_url"}},
		{"slack", []string{"webhook_url"}},
		{"email", []string{"smtp_password"}},
		{"webhook", []string{"url", "headers"}},
		{"pager", nil},
	}
	for _, tt := range tests {
		if got := SecretKeys(tt.typ); !slices.Equal(got, tt.want) {
			t.Errorf("SecretKeys(%q) = %v, want %v", tt.typ, got, tt.want)
		}
	}
}

func TestWantsEvent(t *testing.T) {
	tests := []struct {
		name   string
		events []string
		kind   string
		want   bool
	}{
		{"empty subscribes to all", nil, KindBackupFailed, true},
		{"exact match", []string{"backup.failed"}, KindBackupFailed, true},
		{"other kind", []string{"backup.failed"}, KindBackupSucceeded, false},
		{"config not subscribed", []string{"backup.failed", "verify.failed"}, KindConfigFailed, false},
		{"star", []string{"*"}, KindConfigFailed, true},
		{"prefix wildcard", []string{"backup.*"}, KindBackupSucceeded, true},
		{"prefix wildcard other family", []string{"backup.*"}, KindVerifyFailed, false},
		{"prefix must end at a dot", []string{"back.*"}, KindBackupFailed, false},
		{"test always delivered", []string{"backup.failed"}, KindTest, true},
		{"whitespace tolerated", []string{" verify.failed "}, KindVerifyFailed, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := WantsEvent(tt.events, tt.kind); got != tt.want {
				t.Errorf("WantsEvent(%v, %q) = %v, want %v", tt.events, tt.kind, got, tt.want)
			}
		})
	}
}
