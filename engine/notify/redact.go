package notify

import (
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"
	"unicode"

	"github.com/jagad/jagad/config/word"
)

const redacted = "<redacted>"

// redactor removes a target's secret values from text before it reaches an
// error or a log line. It is the last line of defence: messages are built
// without secrets in the first place.
//
// It redacts values, never substrings of prose: a secret config value, a
// secret URL whole, its user info and query values, and the token segments
// of its path. A value that is distinctive (8+ bytes with letters and digits,
// like every token) is replaced wherever it occurs; any other value only
// where it stands as a word of its own, so a webhook path "/redir" does not
// turn "redirects" into "<redacted>ects". URLs found in the text lose their
// user info and query values whoever they belong to.
type redactor struct {
	secrets []string // longest first
}

func newRedactor(typ string, cfg map[string]any) redactor {
	var vals []string
	for _, key := range SecretKeys(typ) {
		switch v := cfg[key].(type) {
		case string:
			vals = append(vals, secretForms(typ, v)...)
		case map[string]any:
			for _, hv := range v {
				if s, ok := hv.(string); ok {
					vals = append(vals, headerForms(s)...)
				}
			}
		case map[string]string:
			for _, s := range v {
				vals = append(vals, headerForms(s)...)
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

// escapes returns s and its URL-escaped forms.
func escapes(s string) []string {
	return []string{s, url.PathEscape(s), url.QueryEscape(s)}
}

// headerForms: the value, and its credential after a scheme ("Bearer x").
func headerForms(s string) []string {
	s = strings.TrimSpace(s)
	out := escapes(s)
	if _, cred, ok := strings.Cut(s, " "); ok {
		out = append(out, escapes(strings.TrimSpace(cred))...)
	}
	return out
}

// secretForms returns s, its escaped forms and, when s is a URL, the values
// it carries: user info, password, query values, fragment and the token
// segments of its path.
func secretForms(typ, s string) []string {
	s = strings.TrimSpace(s)
	out := escapes(s)
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return out
	}
	if u.User != nil {
		out = append(out, u.User.String())
		if p, ok := u.User.Password(); ok {
			out = append(out, escapes(p)...)
		}
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			out = append(out, escapes(v)...)
		}
	}
	if u.Fragment != "" {
		out = append(out, u.Fragment)
	}
	return append(out, pathTokens(typ, u.Path)...)
}

// pathTokens returns the secret segments of a URL path: the last segment of
// a Discord (/api/webhooks/ID/TOKEN) or Slack (/services/T/B/TOKEN) webhook,
// and any segment of any URL that looks like a token.
func pathTokens(typ, p string) []string {
	var out []string
	segs := strings.Split(strings.Trim(p, "/"), "/")
	if last := path.Base(p); (typ == TypeDiscord || typ == TypeSlack) && len(segs) >= 3 && last != "/" && last != "." {
		out = append(out, escapes(last)...)
	}
	for _, seg := range segs {
		if distinctive(seg) {
			out = append(out, escapes(seg)...)
		}
	}
	return out
}

// distinctive reports whether s looks like a generated value (8+ bytes with
// both letters and digits) that cannot be part of a word of prose.
func distinctive(s string) bool {
	if len(s) < 8 {
		return false
	}
	letter := strings.IndexFunc(s, unicode.IsLetter) >= 0
	digit := strings.IndexFunc(s, unicode.IsDigit) >= 0
	return letter && digit
}

func (r redactor) scrub(text string) string {
	for _, s := range r.secrets {
		if distinctive(s) {
			text = strings.ReplaceAll(text, s, redacted)
		} else {
			text = word.Replace(text, s, redacted, word.Alnum)
		}
	}
	return scrubURLs(text)
}

var (
	urlInText  = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>` + "`" + `]+`)
	userInfo   = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#@]+@`)
	queryValue = regexp.MustCompile(`=[^&#]+`)
)

// scrubURLs redacts the user info and the query values of every URL in text.
func scrubURLs(text string) string {
	return urlInText.ReplaceAllStringFunc(text, func(u string) string {
		u = userInfo.ReplaceAllString(u, "${1}"+redacted+"@")
		base, query, ok := strings.Cut(u, "?")
		if !ok {
			return u
		}
		query, frag, hasFrag := strings.Cut(query, "#")
		query = queryValue.ReplaceAllString(query, "="+redacted)
		if hasFrag {
			query += "#" + frag
		}
		return base + "?" + query
	})
}
