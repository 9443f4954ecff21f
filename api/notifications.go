package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/state"
)

type notificationView struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	NotifType  string          `json:"notif_type"`
	ConfigJSON string          `json:"config_json"` // secret keys masked
	Events     []string        `json:"events"`
	ManagedBy  state.ManagedBy `json:"managed_by"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

func viewNotification(n state.Notification) notificationView {
	return notificationView{ID: n.ID, Name: n.Name, NotifType: n.NotifType,
		ConfigJSON: maskedConfig(n.NotifType, n.ConfigJSON), Events: nonNil(n.Events),
		ManagedBy: n.ManagedBy, CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt}
}

// parseConfig decodes a stored config_json document.
func parseConfig(raw state.Secret) map[string]any {
	m := map[string]any{}
	_ = json.Unmarshal([]byte(raw.Reveal()), &m)
	return m
}

// maskedConfig returns config_json with every secret value masked (bot_token,
// webhook_url, smtp_password, a webhook's url and every header value).
func maskedConfig(typ string, raw state.Secret) string {
	m := parseConfig(raw)
	for _, k := range config.SecretConfigKeys(typ) {
		if h, ok := m[k].(map[string]any); ok {
			for name, v := range h {
				if v != "" {
					h[name] = mask
				}
			}
			continue
		}
		if v, ok := m[k]; ok && v != "" && v != nil {
			m[k] = mask
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "{}"
	}
	return string(b)
}

// secretValues lists the clear-text secrets of a config, for scrubbing.
func secretValues(typ string, m map[string]any) []string {
	var out []string
	for _, k := range config.SecretConfigKeys(typ) {
		switch v := m[k].(type) {
		case string:
			out = append(out, v)
		case map[string]any:
			for _, hv := range v {
				if s, ok := hv.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// keepSecrets puts stored values back where next has a masked, empty or
// absent secret (per header for webhook headers).
func keepSecrets(typ string, next, stored map[string]any) {
	blank := func(v any) bool { return v == nil || v == "" || v == mask }
	for _, k := range config.SecretConfigKeys(typ) {
		sh, storedMap := stored[k].(map[string]any)
		if nh, ok := next[k].(map[string]any); ok && storedMap {
			for name, v := range nh {
				if sv, had := sh[name]; had && blank(v) {
					nh[name] = sv
				}
			}
			continue
		}
		if sv, had := stored[k]; had && blank(next[k]) {
			next[k] = sv
		}
	}
}

// hasMask reports a secret that still holds the mask (nothing to keep).
func hasMask(typ string, m map[string]any) string {
	for _, k := range config.SecretConfigKeys(typ) {
		if m[k] == mask {
			return k
		}
		if h, ok := m[k].(map[string]any); ok {
			for name, v := range h {
				if v == mask {
					return k + "." + name
				}
			}
		}
	}
	return ""
}

type notificationInput struct {
	Name       *string   `json:"name"`
	NotifType  *string   `json:"notif_type"`
	ConfigJSON *string   `json:"config_json"` // a JSON object encoded as a string
	Events     *[]string `json:"events"`
	readOnly
}

var notifRename = map[string]string{"type": "notif_type", "config.": "config_json."}

// applyNotification merges in into n and validates the result.
func applyNotification(in notificationInput, n *state.NotificationSpec) error {
	stored := parseConfig(n.ConfigJSON)
	oldType := n.NotifType
	setStr(&n.Name, in.Name)
	setStr(&n.NotifType, in.NotifType)
	if in.Events != nil {
		n.Events = *in.Events
	}
	cfg := stored
	if in.ConfigJSON != nil {
		cfg = map[string]any{}
		if err := json.Unmarshal([]byte(*in.ConfigJSON), &cfg); err != nil || cfg == nil {
			return fieldErr("config_json", "must be a JSON object encoded as a string")
		}
		if oldType == n.NotifType {
			keepSecrets(n.NotifType, cfg, stored)
		}
	}
	if k := hasMask(n.NotifType, cfg); k != "" {
		return fieldErr("config_json."+k, "the mask %s is not a value; send the secret", mask)
	}
	errs := config.ValidateNotification(config.Notification{Name: n.Name, Type: n.NotifType, Config: cfg, Events: n.Events})
	if err := fieldErrors(errs, notifRename); err != nil {
		return err
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode config_json: %w", err)
	}
	n.ConfigJSON = state.Secret(b)
	return nil
}

func (s *server) listNotifications(r *http.Request, _ httprouter.Params) (any, error) {
	return listViews(s, r, notifications, viewNotification)
}

func (s *server) getNotification(_ *http.Request, p httprouter.Params) (any, error) {
	n, err := notifications.get(s, p.ByName("id"))
	if err != nil {
		return nil, err
	}
	return viewNotification(n), nil
}

func (s *server) createNotification(r *http.Request, _ httprouter.Params) (any, error) {
	var in notificationInput
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	if in.ConfigJSON == nil {
		return nil, missing("config_json")
	}
	var spec state.NotificationSpec
	if err := applyNotification(in, &spec); err != nil {
		return nil, err
	}
	n := state.Notification{Meta: apiMeta(state.KindNotification, s.now().UTC()), NotificationSpec: spec}
	if err := notifications.create(s, &n, nil); err != nil {
		return nil, err
	}
	return created(viewNotification(n)), nil
}

func (s *server) updateNotification(r *http.Request, p httprouter.Params) (any, error) {
	var in notificationInput
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	n, err := notifications.update(s, p.ByName("id"), func(_ *state.Tx, n *state.Notification) error {
		return applyNotification(in, &n.NotificationSpec)
	})
	if err != nil {
		return nil, err
	}
	return viewNotification(n), nil
}

func (s *server) deleteNotification(_ *http.Request, p httprouter.Params) (any, error) {
	if err := notifications.remove(s, p.ByName("id"), nil); err != nil {
		return nil, err
	}
	return noContent, nil
}

type sentResponse struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// testNotification sends a test message: {"status":"sent"}, or
// {"status":"failed","error":...} with secrets scrubbed; 503 without an engine.
func (s *server) testNotification(r *http.Request, p httprouter.Params) (any, error) {
	n, err := notifications.get(s, p.ByName("id"))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), actionTimeout)
	defer cancel()
	if err := s.engine.TestNotification(ctx, n.ID); err != nil {
		if isUnavailable(err) {
			return nil, err
		}
		secrets := secretValues(n.NotifType, parseConfig(n.ConfigJSON))
		return sentResponse{Status: "failed", Error: testMessage(scrub(err.Error(), secrets...))}, nil
	}
	return sentResponse{Status: "sent"}, nil
}
