// Package s3test starts S3 servers for tests: gofakes3 in process (with
// fault injection) and the versitygw binary on 127.0.0.1.
package s3test

import (
	"net/http"
	"net/http/httptest"
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
