package s3test

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	"github.com/jagad/jagad/engine/storage"
)

// Server is an S3 server a test can run against, with faults in front
// (nil: none).
type Server struct {
	Name  string
	Start func(tb testing.TB, faults *Faults) storage.Config
}

// Servers lists gofakes3 (in process, lenient) and versitygw (a real server
// that checks signatures). Fault tests run over both, with the same
// assertions, so a fault behaves the same against a server like the ones
// users run.
func Servers() []Server {
	return []Server{
		{Name: "gofakes3", Start: StartFakeWithFaults},
		{Name: "versitygw", Start: StartVersityWithFaults},
	}
}

// StartVersityWithFaults is StartVersity with a reverse proxy in front that
// injects faults (nil: none). The returned Config points at the proxy. The
// proxy keeps the client's Host header, so request signatures still verify.
func StartVersityWithFaults(tb testing.TB, faults *Faults) storage.Config {
	tb.Helper()
	cfg := StartVersity(tb)
	if faults == nil {
		return cfg
	}
	cfg.Endpoint = startProxy(tb, cfg.Endpoint, faults)
	return cfg
}

// startProxy serves a fault-injecting reverse proxy to upstream and returns
// its URL. It stops when the test ends.
func startProxy(tb testing.TB, upstream string, faults *Faults) string {
	tb.Helper()
	target, err := url.Parse(upstream)
	if err != nil {
		tb.Fatalf("proxy: %v", err)
	}
	transport := &http.Transport{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host // signed by the client
		},
		Transport: transport,
		// A client that gives up mid-request (a cancelled Put) is expected.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	srv := httptest.NewServer(faults.Wrap(rp))
	tb.Cleanup(func() {
		srv.Close()
		transport.CloseIdleConnections()
	})
	return srv.URL
}
