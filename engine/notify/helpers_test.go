package notify

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jagad/jagad/state/logbuf"
)

// recorded is one request a fake server received.
type recorded struct {
	Method string
	Path   string // escaped path plus query
	Header http.Header
	Body   []byte
}

// reply is one scripted answer; the last one repeats.
type reply struct {
	status int
	header map[string]string
	body   string
	echo   bool // append the request path and headers to the body
}

type fakeHTTP struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []recorded
	replies []reply
}

func newFakeHTTP(tb testing.TB, replies ...reply) *fakeHTTP {
	tb.Helper()
	f := &fakeHTTP{replies: replies}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.Close)
	return f
}

func (f *fakeHTTP) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, recorded{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body})
	i := min(len(f.reqs)-1, len(f.replies)-1)
	rep := reply{status: http.StatusOK}
	if i >= 0 {
		rep = f.replies[i]
	}
	f.mu.Unlock()
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, rep.body)
	if rep.echo {
		_, _ = io.WriteString(w, " path="+r.URL.RequestURI())
		for k, v := range r.Header {
			_, _ = io.WriteString(w, " "+k+"="+v[0])
		}
	}
}

func (f *fakeHTTP) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

// sleepRecorder stands in for Options.Sleep.
type sleepRecorder struct {
	mu     sync.Mutex
	sleeps []time.Duration
}

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.sleeps = append(s.sleeps, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepRecorder) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.sleeps...)
}

var testNow = time.Date(2026, 1, 1, 2, 0, 5, 0, time.UTC)

func testBackoff(attempt int) time.Duration { return time.Duration(attempt) * time.Millisecond }

// testNotifier returns a notifier with recorded sleeps and a log buffer.
func testNotifier(tb testing.TB, opts Options) (*Notifier, *sleepRecorder, *logbuf.Buffer) {
	tb.Helper()
	rec := &sleepRecorder{}
	logs := &logbuf.Buffer{}
	if opts.Sleep == nil {
		opts.Sleep = rec.sleep
	}
	if opts.Backoff == nil {
		opts.Backoff = testBackoff
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return New(opts), rec, logs
}

func decodeJSON(tb testing.TB, b []byte) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatalf("request body is not JSON: %v: %s", err, b)
	}
	return m
}

// closedAddr returns host:port where nothing listens (connection refused).
func closedAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}
