package notify

import (
	"net/url"
	"path"
	"sort"
	"strings"
)

const redacted = "<redacted>"

// redactor removes a target's secret values (and the pieces of secret URLs)
// from text before it reaches an error or a log line. It is the last line of
// defence: messages are built without secrets in the first place.
type redactor struct {
	secrets []string // longest first
}

func newRedactor(typ string, cfg map[string]any) redactor {
	var vals []string
	for _, key := range SecretKeys(typ) {
		switch v := cfg[key].(type) {
		case string:
			vals = append(vals, secretForms(v)...)
		case map[string]any:
			for _, hv := range v {
				if s, ok := hv.(string); ok {
					vals = append(vals, secretForms(s)...)
				}
			}
		case map[string]string:
			for _, s := range v {
				vals = append(vals, secretForms(s)...)
			}
		}
	}
	var keep []string
	seen := map[string]bool{}
	for _, s := range vals {
		if len(s) >= 2 && !seen[s] {
			seen[s] = true
			keep = append(keep, s)
		}
	}
	sort.Slice(keep, func(i, j int) bool { return len(keep[i]) > len(keep[j]) })
	return redactor{secrets: keep}
}

// secretForms returns s, its escaped forms and, when s is a URL, the parts of
// it that carry secrets (user info, path, query, fragment).
func secretForms(s string) []string {
	s = strings.TrimSpace(s)
	out := []string{s, url.PathEscape(s), url.QueryEscape(s)}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return out
	}
	if u.User != nil {
		out = append(out, u.User.String())
		if p, ok := u.User.Password(); ok {
			out = append(out, p)
		}
	}
	if u.Path != "" && u.Path != "/" {
		out = append(out, u.Path, u.EscapedPath(), strings.Trim(u.Path, "/"))
		// Webhook tokens are usually the last segment (discord, slack).
		if last := path.Base(u.Path); len(last) >= 8 {
			out = append(out, last)
		}
	}
	if u.RawQuery != "" {
		out = append(out, u.RawQuery)
	}
	if u.Fragment != "" {
		out = append(out, u.Fragment)
	}
	return out
}

func (r redactor) scrub(text string) string {
	for _, s := range r.secrets {
		text = strings.ReplaceAll(text, s, redacted)
	}
	return text
}
