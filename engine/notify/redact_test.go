package notify

import (
	"strings"
	"testing"
)

// TestRedactorValuesNotProse: the redactor removes secret values (a URL's
// user info, query values, tokens in the paths of known services, secret
// config values) but leaves words of prose that merely share letters with a
// URL's pieces alone.
func TestRedactorValuesNotProse(t *testing.T) {
	const tok = "Zq8wK2vT9xLm"
	tests := []struct {
		name string
		typ  string
		cfg  map[string]any
		text string
		want string // exact result
	}{
		{"bad case: path /redir does not eat redirects", "webhook",
			map[string]any{"url": "http://127.0.0.1:8080/redir"},
			"HTTP 302 (redirects are not followed)",
			"HTTP 302 (redirects are not followed)"},
		{"path words stay", "webhook",
			map[string]any{"url": "https://example.com/hook/notify"},
			"notify webhook \"w\": hook failed",
			"notify webhook \"w\": hook failed"},
		{"full URL goes", "webhook",
			map[string]any{"url": "https://example.com/hook/notify"},
			`Post "https://example.com/hook/notify": refused`,
			`Post "<redacted>": refused`},
		{"query value", "webhook",
			map[string]any{"url": "https://example.com/h?token=" + tok + "&v=2"},
			"token " + tok + " rejected",
			"token <redacted> rejected"},
		{"user info password", "webhook",
			map[string]any{"url": "https://bob:" + tok + "@example.com/h"},
			"auth bob:" + tok + " failed; pass " + tok,
			"auth <redacted> failed; pass <redacted>"},
		{"discord token in path", "discord",
			map[string]any{"webhook_url": "https://discord.com/api/webhooks/123/" + tok},
			"unknown webhook " + tok + " (webhooks are per channel)",
			"unknown webhook <redacted> (webhooks are per channel)"},
		{"slack token in path", "slack",
			map[string]any{"webhook_url": "https://hooks.slack.com/services/T0/B0/" + tok},
			"invalid_token " + tok + " for services",
			"invalid_token <redacted> for services"},
		{"token-like segment of a generic webhook", "webhook",
			map[string]any{"url": "https://example.com/hook/" + tok},
			"path /hook/" + tok + " not found",
			"path /hook/<redacted> not found"},
		{"telegram token glued to bot", "telegram",
			map[string]any{"bot_token": "123:" + tok, "chat_id": "1"},
			"Unauthorized for bot123:" + tok + " and 123:" + tok,
			"Unauthorized for bot<redacted> and <redacted>"},
		{"short password only as a word", "email",
			map[string]any{"smtp_password": "red"},
			"535 redirected: password red rejected",
			"535 redirected: password <redacted> rejected"},
		{"header value", "webhook",
			map[string]any{"url": "https://example.com/h", "headers": map[string]any{"Authorization": "Bearer " + tok}},
			"echo: Authorization=Bearer " + tok,
			"echo: Authorization=<redacted>"},
		{"URL in text not from the config: userinfo and query values", "webhook",
			map[string]any{"url": "https://example.com/h"},
			"redirect to https://u:" + tok + "@other.example/x?sig=" + tok + "&page=2 refused",
			"redirect to https://<redacted>@other.example/x?sig=<redacted>&page=<redacted> refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := newRedactor(tt.typ, tt.cfg).scrub(tt.text)
			if got != tt.want {
				t.Errorf("scrub(%q)\n got %q\nwant %q", tt.text, got, tt.want)
			}
			if strings.Contains(got, tok) {
				t.Errorf("secret left in %q", got)
			}
		})
	}
}
