package config

import (
	"fmt"
	"math"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

var (
	notificationTypes  = []string{"telegram", "discord", "slack", "email", "webhook"}
	notificationEvents = []string{"backup.succeeded", "backup.failed", "verify.failed", "config.failed", "backup.copy_failed"}
	emailTLSModes      = []string{"starttls", "tls", "none"}
	webhookMethods     = []string{"POST", "PUT", "PATCH"}
)

// configKeys lists the required and optional config keys of each type.
func configKeys(typ string) (required, optional []string) {
	switch typ {
	case "telegram":
		return []string{"bot_token", "chat_id"}, []string{"api_url"} // api_url: a self-hosted Bot API server
	case "discord", "slack":
		return []string{"webhook_url"}, nil
	case "email":
		return []string{"smtp_host", "smtp_port", "from", "to"},
			[]string{"smtp_username", "smtp_password", "tls", "subject_template"}
	case "webhook":
		return []string{"url"}, []string{"headers", "method"}
	}
	return nil, nil
}

// SecretConfigKeys returns the config keys of a notification type that hold
// secrets and must be masked. "headers" means every value of the headers map.
func SecretConfigKeys(notifType string) []string {
	switch notifType {
	case "telegram":
		return []string{"bot_token"}
	case "discord", "slack":
		return []string{"webhook_url"}
	case "email":
		return []string{"smtp_password"}
	case "webhook":
		return []string{"url", "headers"}
	}
	return nil
}

// ValidateNotification checks every field of n, including the config keys
// its type requires. An empty events list means every event.
func ValidateNotification(n Notification) []FieldError {
	var errs fieldErrs
	errs.addErr("name", CheckName(n.Name))
	if !oneOf(n.Type, notificationTypes...) {
		errs.add("type", "%s", enumError(n.Type, notificationTypes...))
	} else {
		validateNotifConfig(n.Type, n.Config, &errs)
	}
	seen := map[string]bool{}
	for i, ev := range n.Events {
		field := "events[" + strconv.Itoa(i) + "]"
		switch {
		case !oneOf(ev, notificationEvents...):
			errs.add(field, "%s", enumError(ev, notificationEvents...))
		case seen[ev]:
			errs.add(field, "duplicate event %q", ev)
		}
		seen[ev] = true
	}
	return errs
}

func validateNotifConfig(typ string, cfg map[string]any, errs *fieldErrs) {
	required, optional := configKeys(typ)
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(required, k) && !slices.Contains(optional, k) {
			errs.add("config."+k, "unknown config key %q for type %s (known: %s)",
				k, typ, strings.Join(append(slices.Clone(required), optional...), ", "))
		}
	}
	for _, k := range required {
		if v, ok := cfg[k]; !ok || v == nil || v == "" {
			errs.add("config."+k, "is required for type %s", typ)
		}
	}
	for _, k := range append(slices.Clone(required), optional...) {
		if v, ok := cfg[k]; ok && v != nil && v != "" {
			if err := checkConfigValue(typ, k, v); err != nil {
				errs.addErr("config."+k, err)
			}
		}
	}
}

// checkConfigValue checks one present config value. Messages never quote
// the value: several keys hold secrets.
func checkConfigValue(typ, key string, v any) error {
	switch key {
	case "chat_id":
		if _, ok := asInt(v); ok {
			return nil
		}
		return wantString(v)
	case "smtp_port":
		p, ok := asInt(v)
		if !ok || p < 1 || p > 65535 {
			return fmt.Errorf("must be a port between 1 and 65535")
		}
		return nil
	case "webhook_url", "url", "api_url":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("must be a string")
		}
		return checkHTTPURL(s, true)
	case "from":
		return checkAddress(v)
	case "to":
		return checkAddressList(v)
	case "tls":
		if s, ok := v.(string); !ok || !oneOf(s, emailTLSModes...) {
			return fmt.Errorf("must be one of %s", strings.Join(emailTLSModes, ", "))
		}
	case "method":
		if s, ok := v.(string); !ok || !oneOf(strings.ToUpper(s), webhookMethods...) {
			return fmt.Errorf("must be one of %s", strings.Join(webhookMethods, ", "))
		}
	case "subject_template":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("must be a string")
		}
		if _, err := template.New("subject").Parse(s); err != nil {
			return fmt.Errorf("invalid template: %v", err)
		}
	case "headers":
		return checkHeaders(v)
	default:
		return wantString(v)
	}
	return nil
}

func wantString(v any) error {
	if _, ok := v.(string); !ok {
		return fmt.Errorf("must be a string")
	}
	return nil
}

// asInt accepts ints, integral floats (JSON) and numeric strings (expansions).
func asInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int(x), true
		}
	case string:
		i, err := strconv.Atoi(strings.TrimSpace(x))
		return i, err == nil
	}
	return 0, false
}

func checkAddress(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("must be a string")
	}
	if _, err := mail.ParseAddress(s); err != nil {
		return fmt.Errorf("invalid email address %q", s)
	}
	return nil
}

func checkAddressList(v any) error {
	list, ok := v.([]any)
	if !ok {
		return fmt.Errorf("must be a list of email addresses")
	}
	if len(list) == 0 {
		return fmt.Errorf("must list at least one address")
	}
	for i, item := range list {
		if err := checkAddress(item); err != nil {
			return fmt.Errorf("item %d: %w", i, err)
		}
	}
	return nil
}

func checkHeaders(v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("must be a mapping of header names to values")
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if k == "" || strings.ContainsFunc(k, func(r rune) bool { return r <= ' ' || r == ':' || r > '~' }) {
			return fmt.Errorf("invalid header name %q", k)
		}
		s, ok := m[k].(string)
		if !ok {
			return fmt.Errorf("header %s: value must be a string", k)
		}
		if strings.ContainsAny(s, "\r\n\x00") {
			return fmt.Errorf("header %s: value must not contain newlines", k)
		}
	}
	return nil
}
