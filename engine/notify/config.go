package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// ParseConfigJSON decodes a target's config_json document (a JSON object) and
// validates it for typ: required keys present, well-formed values. Errors name
// keys, never values.
func ParseConfigJSON(typ, configJSON string) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(configJSON))
	dec.UseNumber()
	var cfg map[string]any
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("%w: config_json must be a JSON object", ErrInvalidConfig)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: config_json has trailing data", ErrInvalidConfig)
	}
	if len(cfg) == 0 {
		return nil, fmt.Errorf("%w: config_json is required", ErrInvalidConfig)
	}
	if err := ValidateConfig(typ, cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// ValidateConfig checks cfg for typ without sending anything.
func ValidateConfig(typ string, cfg map[string]any) error {
	var err error
	switch typ {
	case TypeTelegram:
		_, err = parseTelegram(cfg, "")
	case TypeDiscord, TypeSlack:
		_, err = parseWebhookURL(cfg, "webhook_url")
	case TypeWebhook:
		_, err = parseWebhook(cfg)
	case TypeEmail:
		_, err = parseEmail(cfg)
	default:
		return fmt.Errorf("%w %q", ErrUnknownType, typ)
	}
	return err
}

// SecretKeys lists the config keys of typ that hold secrets.
func SecretKeys(typ string) []string {
	switch typ {
	case TypeTelegram:
		return []string{"bot_token"}
	case TypeDiscord, TypeSlack:
		return []string{"webhook_url"}
	case TypeEmail:
		return []string{"smtp_password"}
	case TypeWebhook:
		return []string{"url", "headers"}
	default:
		return nil
	}
}

// WantsEvent reports whether a target subscribed to events receives kind.
// An empty list subscribes to everything; "*" matches every kind and
// "backup.*" every kind with that prefix. "test" is always delivered.
func WantsEvent(events []string, kind string) bool {
	if len(events) == 0 || kind == KindTest {
		return true
	}
	for _, e := range events {
		e = strings.TrimSpace(e)
		switch {
		case e == "*" || e == kind:
			return true
		case strings.HasSuffix(e, ".*") && strings.HasPrefix(kind, strings.TrimSuffix(e, "*")):
			return true
		}
	}
	return false
}

func invalid(key, problem string) error {
	return fmt.Errorf("%w: %s %s", ErrInvalidConfig, key, problem)
}

// cfgString returns cfg[key] as a trimmed string; numbers are accepted
// (a YAML chat_id may decode as an integer).
func cfgString(cfg map[string]any, key string) (string, error) {
	v, ok := cfg[key]
	if !ok || v == nil {
		return "", nil
	}
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x), nil
	case json.Number:
		return x.String(), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return strconv.FormatInt(int64(x), 10), nil
		}
	}
	return "", invalid(key, "must be a string")
}

func requiredString(cfg map[string]any, key string) (string, error) {
	s, err := cfgString(cfg, key)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", invalid(key, "is required")
	}
	return s, nil
}

// cfgInt returns cfg[key] as an int (0 when absent).
func cfgInt(cfg map[string]any, key string) (int, error) {
	s, err := cfgString(cfg, key)
	if err != nil || s == "" {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, invalid(key, "must be an integer")
	}
	return n, nil
}

// cfgList accepts a list of strings or one comma-separated string.
func cfgList(cfg map[string]any, key string) ([]string, error) {
	var raw []string
	switch x := cfg[key].(type) {
	case nil:
	case string:
		raw = strings.Split(x, ",")
	case []string:
		raw = x
	case []any:
		for _, item := range x {
			s, ok := item.(string)
			if !ok {
				return nil, invalid(key, "must be a list of strings")
			}
			raw = append(raw, s)
		}
	default:
		return nil, invalid(key, "must be a list or a comma-separated string")
	}
	var out []string
	for _, s := range raw {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// cfgHeaders returns cfg[key] as string headers, sorted keys for stable order.
func cfgHeaders(cfg map[string]any, key string) (map[string]string, error) {
	out := map[string]string{}
	switch x := cfg[key].(type) {
	case nil:
	case map[string]string:
		for k, v := range x {
			out[k] = v
		}
	case map[string]any:
		for k, v := range x {
			s, ok := v.(string)
			if !ok {
				return nil, invalid(key, "values must be strings")
			}
			out[k] = s
		}
	default:
		return nil, invalid(key, "must be a map of strings")
	}
	for k, v := range out {
		if !validHeaderName(k) || strings.ContainsAny(v, "\r\n\x00") {
			return nil, invalid(key, "has an invalid header name or value")
		}
	}
	return out, nil
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || bytes.IndexByte([]byte("()<>@,;:\\\"/[]?={}"), c) >= 0 {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
