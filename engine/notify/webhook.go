package notify

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

type webhookConfig struct {
	url     string
	method  string
	headers map[string]string
}

func parseWebhook(cfg map[string]any) (webhookConfig, error) {
	var c webhookConfig
	var err error
	if c.url, err = parseWebhookURL(cfg, "url"); err != nil {
		return c, err
	}
	if c.method, err = cfgString(cfg, "method"); err != nil {
		return c, err
	}
	c.method = strings.ToUpper(c.method)
	switch c.method {
	case "":
		c.method = http.MethodPost
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return c, invalid("method", "must be POST, PUT or PATCH")
	}
	if c.headers, err = cfgHeaders(cfg, "headers"); err != nil {
		return c, err
	}
	return c, nil
}

// webhookPayload is the original's JSON payload plus schedule, connection
// and error. Unknown times are null.
type webhookPayload struct {
	Event       string  `json:"event"`
	BackupID    string  `json:"backup_id"`
	Database    string  `json:"database"`
	DBType      string  `json:"db_type"`
	Status      string  `json:"status"`
	SizeBytes   int64   `json:"size_bytes"`
	DurationMs  int64   `json:"duration_ms"`
	BackupType  string  `json:"backup_type"`
	StoragePath string  `json:"storage_path"`
	StartedAt   *string `json:"started_at"`
	CompletedAt *string `json:"completed_at"`
	LogTail     string  `json:"log_tail"`
	Schedule    string  `json:"schedule"`
	Connection  string  `json:"connection"`
	Error       string  `json:"error"`
}

func newWebhookPayload(ev Event) webhookPayload {
	return webhookPayload{
		Event:       ev.Kind,
		BackupID:    ev.BackupID,
		Database:    ev.Database,
		DBType:      ev.DBType,
		Status:      ev.Status,
		SizeBytes:   ev.SizeBytes,
		DurationMs:  ev.DurationMs,
		BackupType:  ev.BackupType,
		StoragePath: ev.StoragePath,
		StartedAt:   rfc3339(ev.StartedAt),
		CompletedAt: rfc3339(ev.CompletedAt),
		LogTail:     LogTail(ev.Log),
		Schedule:    ev.Schedule,
		Connection:  ev.Connection,
		Error:       ev.Error,
	}
}

func rfc3339(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

// webhook sends the JSON payload with the configured method and headers
// (Content-Type and User-Agent may be overridden by headers).
func (n *Notifier) webhook(cfg map[string]any, ev Event) (attemptFunc, error) {
	c, err := parseWebhook(cfg)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(newWebhookPayload(ev))
	if err != nil {
		return nil, err
	}
	return n.simpleHTTP(httpRequest{method: c.method, url: c.url, headers: c.headers, body: body}), nil
}
