package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

type telegramConfig struct {
	token  string
	chatID string
	base   string
}

func parseTelegram(cfg map[string]any, defaultBase string) (telegramConfig, error) {
	var c telegramConfig
	var err error
	if c.token, err = requiredString(cfg, "bot_token"); err != nil {
		return c, err
	}
	if strings.ContainsAny(c.token, "/?#%@ \t\r\n") {
		return c, invalid("bot_token", "has characters a Telegram token cannot have")
	}
	if c.chatID, err = requiredString(cfg, "chat_id"); err != nil {
		return c, err
	}
	base, err := cfgString(cfg, "api_url")
	if err != nil {
		return c, err
	}
	if base == "" {
		base = defaultBase
	}
	if base != "" {
		if _, err := parseHTTPURL(base); err != nil {
			return c, invalid("api_url", "must be an http(s) URL")
		}
	}
	c.base = strings.TrimRight(base, "/")
	return c, nil
}

// telegramReply is the Bot API's answer envelope.
type telegramReply struct {
	OK          *bool  `json:"ok"`
	Description string `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

// telegram sends the CODE message with parse_mode Markdown. The token lives
// in the URL path, which is why errors are built from status and the Bot
// API's description only.
func (n *Notifier) telegram(cfg map[string]any, ev Event) (attemptFunc, error) {
	c, err := parseTelegram(cfg, n.telegramBase)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(map[string]any{
		"chat_id":                  c.chatID,
		"text":                     Message(ev),
		"parse_mode":               "Markdown",
		"disable_web_page_preview": true,
	})
	if err != nil {
		return nil, err
	}
	req := httpRequest{method: http.MethodPost, url: c.base + "/bot" + c.token + "/sendMessage", body: body}
	return func(ctx context.Context) error {
		resp, err := n.do(ctx, req)
		if err != nil {
			return err
		}
		var reply telegramReply
		// Only a Bot API envelope ({"ok":false,"description":…}) is quoted:
		// any other body is an answer of something that is not Telegram.
		parsed := json.Unmarshal(resp.body, &reply) == nil && reply.OK != nil
		if resp.status >= 200 && resp.status < 300 {
			if parsed && !*reply.OK {
				return permanent("telegram: %s", firstNonEmpty(snippet([]byte(reply.Description)), "ok=false"))
			}
			return nil
		}
		detail := ""
		if parsed {
			detail = snippet([]byte(reply.Description))
		}
		jerr := n.judge(resp, detail)
		var ae *attemptError
		if asAttempt(jerr, &ae) && resp.status == http.StatusTooManyRequests && ae.retryAfter == 0 && reply.Parameters.RetryAfter > 0 {
			ae.retryAfter = time.Duration(reply.Parameters.RetryAfter) * time.Second
		}
		return jerr
	}, nil
}
