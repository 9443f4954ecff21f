package storage_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/storage"
)

// TestS3EndpointMetadataRefused: an S3 endpoint at the metadata address or
// a metadata name is refused at dial time, without retries that wait.
func TestS3EndpointMetadataRefused(t *testing.T) {
	for _, ep := range []string{"http://169.254.169.254", "http://[fe80::1]:9000", "http://metadata.google.internal"} {
		t.Run(ep, func(t *testing.T) {
			cfg := storage.Config{Type: storage.TypeS3Compat, Endpoint: ep, Bucket: "latest", AccessKey: "a", SecretKey: "b", PathStyle: true}
			start := time.Now()
			err := storage.Probe(testCtx(t), mustOpen(t, cfg))
			if err == nil || !strings.Contains(err.Error(), "blocked by the outbound network policy") {
				t.Fatalf("Probe = %v, want refused by the network policy", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("refusal took %s: it was retried", d)
			}
			t.Logf("Probe error: %v", err)
		})
	}
}

const bodyCanary = "BODYCANARY55e1"

// TestS3ErrorDoesNotEchoNonS3Body: an endpoint that is not S3 (an internal
// service answering 500 or 200 with its own body) does not see its body
// quoted in the error.
func TestS3ErrorDoesNotEchoNonS3Body(t *testing.T) {
	for _, status := range []int{500, 403, 200} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, "<html><body>internal admin "+bodyCanary+"</body></html>")
		}))
		cfg := storage.Config{Type: storage.TypeS3Compat, Endpoint: srv.URL, Bucket: "bucket", AccessKey: "a", SecretKey: "b",
			PathStyle: true, MaxAttempts: 1}
		err := storage.Probe(testCtx(t), mustOpen(t, cfg))
		srv.Close()
		if err == nil {
			if status == 200 {
				continue // a 200 to every request can pass for S3: nothing quoted
			}
			t.Fatalf("HTTP %d: Probe succeeded", status)
		}
		t.Logf("HTTP %d: %v", status, err)
		if strings.Contains(err.Error(), bodyCanary) {
			t.Errorf("HTTP %d: error echoes the remote body: %v", status, err)
		}
		if strings.Contains(err.Error(), "<redacted>") { // the one-letter secret "b" must not cut up "Forbidden"
			t.Errorf("HTTP %d: the scrubber cut a word: %v", status, err)
		}
	}
}
