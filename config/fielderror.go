package config

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
)

// FieldError is one invalid field of a resource. Field is a path inside the
// resource ("port", "config.bot_token", "events[1]").
type FieldError struct {
	Field   string
	Message string
}

// Error renders "field: message".
func (e FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// fieldErrs collects FieldErrors.
type fieldErrs []FieldError

func (fe *fieldErrs) add(field, format string, args ...any) {
	*fe = append(*fe, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// addErr adds err (if any) for field.
func (fe *fieldErrs) addErr(field string, err error) {
	if err != nil {
		fe.add(field, "%s", err.Error())
	}
}

const maxNameLen = 100

// CheckName checks a resource name: non-empty, at most 100 characters, and
// usable inside an object key (no '/', '\', "..", control characters, no
// leading '.', no leading or trailing space), and free of invisible and
// bidirectional control characters.
func CheckName(name string) error {
	if name == "" {
		return fmt.Errorf("is required")
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("must be at most %d characters", maxNameLen)
	}
	if err := checkKeySafe(name); err != nil {
		return err
	}
	return checkVisible(name) // names.go
}

// checkKeySafe checks that s can be one segment of an object key.
func checkKeySafe(s string) error {
	switch {
	case strings.ContainsAny(s, `/\`):
		return fmt.Errorf("must not contain '/' or '\\'")
	case strings.Contains(s, ".."):
		return fmt.Errorf("must not contain \"..\"")
	case strings.HasPrefix(s, "."):
		return fmt.Errorf("must not start with '.'")
	case hasControl(s):
		return fmt.Errorf("must not contain control characters")
	case strings.TrimSpace(s) != s:
		return fmt.Errorf("must not start or end with spaces")
	}
	return nil
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}

func oneOf(v string, allowed ...string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

// enumError describes a value outside its enum; empty values read "is required".
func enumError(v string, allowed ...string) string {
	if v == "" {
		return "is required (one of " + strings.Join(allowed, ", ") + ")"
	}
	return fmt.Sprintf("unknown value %q (want one of %s)", v, strings.Join(allowed, ", "))
}

// checkHTTPURL checks an http(s) URL without ever quoting it (webhook URLs
// are secrets).
func checkHTTPURL(raw string, allowCredentials bool) error {
	if raw == "" {
		return fmt.Errorf("is required")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an http:// or https:// URL with a host")
	}
	if !allowCredentials && u.User != nil {
		return fmt.Errorf("must not contain credentials")
	}
	return nil
}
