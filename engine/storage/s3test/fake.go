// Package s3test starts S3 servers for tests: gofakes3 in process (with
// fault injection) and the versitygw binary on 127.0.0.1.
package s3test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/jagad/jagad/engine/storage"
)

// Bucket is the bucket every test server starts with.
const Bucket = "jagad-test"

// StartFake starts gofakes3 in process with Bucket created and returns a
// path-style Config for it. The server stops when the test ends.
func StartFake(tb testing.TB) storage.Config {
	tb.Helper()
	return StartFakeWithFaults(tb, nil)
}

// StartFakeWithFaults is StartFake with faults injected in front of the
// server (nil: none).
func StartFakeWithFaults(tb testing.TB, faults *Faults) storage.Config {
	tb.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(Bucket); err != nil {
		tb.Fatalf("gofakes3: create bucket: %v", err)
	}
	var h http.Handler = gofakes3.New(backend).Server()
	if faults != nil {
		h = faults.Wrap(h)
	}
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return storage.Config{
		Type:      storage.TypeS3Compat,
		Endpoint:  srv.URL,
		Region:    "us-east-1",
		Bucket:    Bucket,
		AccessKey: "fake-access-key",
		SecretKey: "fake-secret-key",
		PathStyle: true,
	}
}

// Faults makes a wrapped S3 server answer UploadPart requests with
// 500 InternalError, or play dead. Safe for concurrent use.
type Faults struct {
	// Down drops every request's connection without an answer, as a server
	// that died would (the SDK sees a reset or EOF and retries).
	Down atomic.Bool
	// FailPart fails the UploadPart request with this sequence number
	// (1-based, counting every UploadPart request including retries); 0: none.
	FailPart atomic.Int64
	// FailAllParts fails every UploadPart request.
	FailAllParts atomic.Bool

	parts  atomic.Int64
	failed atomic.Int64
}

// PartRequests is the number of UploadPart requests seen.
func (f *Faults) PartRequests() int64 { return f.parts.Load() }

// Failed is the number of requests answered with an injected 500.
func (f *Faults) Failed() int64 { return f.failed.Load() }

// Wrap returns h with the faults injected in front of it.
func (f *Faults) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.Down.Load() {
			f.failed.Add(1)
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					_ = conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		}
		q := r.URL.Query()
		if r.Method != http.MethodPut || q.Get("uploadId") == "" || q.Get("partNumber") == "" {
			h.ServeHTTP(w, r)
			return
		}
		n := f.parts.Add(1)
		if !f.FailAllParts.Load() && f.FailPart.Load() != n {
			h.ServeHTTP(w, r)
			return
		}
		f.failed.Add(1)
		_, _ = io.Copy(io.Discard, r.Body) // let the client finish sending
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+
			`<Error><Code>InternalError</Code><Message>injected fault</Message></Error>`)
	})
}
