package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
)

func parseWebhookURL(cfg map[string]any, key string) (string, error) {
	u, err := requiredString(cfg, key)
	if err != nil {
		return "", err
	}
	if _, err := parseHTTPURL(u); err != nil {
		return "", invalid(key, "must be an absolute http(s) URL")
	}
	return u, nil
}

// discord posts {"content": msg} with "*" doubled into Discord's bold.
func (n *Notifier) discord(cfg map[string]any, ev Event) (attemptFunc, error) {
	text := strings.ReplaceAll(Message(ev), "*", "**")
	return n.chatWebhook(cfg, map[string]string{"content": text})
}

// slack posts {"text": msg} with the backticks removed.
func (n *Notifier) slack(cfg map[string]any, ev Event) (attemptFunc, error) {
	text := strings.ReplaceAll(Message(ev), "`", "")
	return n.chatWebhook(cfg, map[string]string{"text": text})
}

func (n *Notifier) chatWebhook(cfg map[string]any, payload any) (attemptFunc, error) {
	u, err := parseWebhookURL(cfg, "webhook_url")
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	return n.simpleHTTP(httpRequest{method: http.MethodPost, url: u, body: body}), nil
}

// simpleHTTP succeeds on any 2xx and judges everything else by its status
// alone: the reply's body is never quoted, so a URL pointed at an internal
// service cannot read that service's answers through errors or test results.
func (n *Notifier) simpleHTTP(req httpRequest) attemptFunc {
	return func(ctx context.Context) error {
		resp, err := n.do(ctx, req)
		if err != nil {
			return err
		}
		return n.judge(resp, "")
	}
}
