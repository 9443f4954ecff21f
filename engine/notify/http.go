package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/jagad/jagad/engine/netguard"
)

const (
	userAgent       = "jagad"
	maxResponseBody = 64 << 10
	maxBodySnippet  = 200
)

// httpRequest is one prepared HTTP delivery; it can be replayed.
type httpRequest struct {
	method  string
	url     string // secret: never printed
	headers map[string]string
	body    []byte
}

// httpResponse is what a channel needs to judge a reply.
type httpResponse struct {
	status int
	header http.Header
	body   []byte
}

// do sends r once. Network failures come back as transient attemptErrors
// whose text is the unwrapped cause, never the *url.Error (it holds the URL).
func (n *Notifier) do(ctx context.Context, r httpRequest) (httpResponse, error) {
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, bytes.NewReader(r.body))
	if err != nil {
		return httpResponse{}, permanent("build request: invalid URL or method")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	for _, k := range sortedKeys(r.headers) {
		req.Header.Set(k, r.headers[k])
	}
	resp, err := n.client.Do(req)
	if errors.Is(err, netguard.ErrBlocked) {
		return httpResponse{}, permanent("request refused: %s", netCause(err)) // retrying cannot help
	}
	if err != nil {
		return httpResponse{}, transient("request failed: %s", netCause(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return httpResponse{}, transient("read response: %s", netCause(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
	return httpResponse{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// netCause strips the *url.Error wrapper (whose text includes the request
// URL) and returns the underlying error's text.
func netCause(err error) string {
	var ue *url.Error
	for errors.As(err, &ue) {
		err = ue.Err
	}
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}

// judge turns a non-2xx reply into an attemptError: 3xx (never followed) and
// 4xx are permanent, 429 and 5xx transient; 429 carries Retry-After. detail
// is the remote's explanation, if any.
func (n *Notifier) judge(resp httpResponse, detail string) error {
	if resp.status >= 200 && resp.status < 300 {
		return nil
	}
	msg := fmt.Sprintf("HTTP %d", resp.status)
	if detail != "" {
		msg += ": " + detail
	}
	switch {
	case resp.status >= 300 && resp.status < 400:
		return permanent("%s (redirects are not followed)", msg)
	case resp.status == http.StatusTooManyRequests:
		return &attemptError{msg: msg, retry: true,
			retryAfter: parseRetryAfter(resp.header.Get("Retry-After"), n.now())}
	case resp.status >= 500:
		return transient("%s", msg)
	default:
		return permanent("%s", msg)
	}
}

// snippet returns a short, single-line, valid-UTF-8 prefix of a reply body.
func snippet(body []byte) string {
	s := strings.TrimSpace(string(body))
	if len(s) > maxBodySnippet {
		cut := maxBodySnippet
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	s = strings.ToValidUTF8(s, "?")
	return strings.Join(strings.Fields(s), " ")
}

func asAttempt(err error, target **attemptError) bool { return errors.As(err, target) }

// parseHTTPURL accepts absolute http and https URLs only.
func parseHTTPURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.New("unparsable URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("not an absolute http(s) URL")
	}
	return u, nil
}
