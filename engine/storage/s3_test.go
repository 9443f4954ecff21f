package storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/engine/storage/s3test"
	"github.com/jagad/jagad/engine/storage/storagetest"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func incomplete(t *testing.T, s storage.Store, prefix string) []string {
	t.Helper()
	keys, err := s.(storage.IncompleteLister).Incomplete(testCtx(t), prefix)
	if err != nil {
		t.Fatalf("Incomplete(%q): %v", prefix, err)
	}
	return keys
}

func TestVersityWrongSecretKey(t *testing.T) {
	cfg := s3test.StartVersity(t)
	const wrong = "not-the-secret-Qx7Vb2"
	cfg.SecretKey = wrong
	err := storage.Probe(testCtx(t), mustOpen(t, cfg))
	if err == nil {
		t.Fatal("Probe with a wrong secret key succeeded")
	}
	msg := err.Error()
	t.Logf("Probe error: %s", msg)
	if !strings.HasPrefix(msg, "put probe: ") || !strings.Contains(msg, "SignatureDoesNotMatch") {
		t.Errorf("Probe error = %q, want the put step and SignatureDoesNotMatch", msg)
	}
	if strings.Contains(msg, wrong) || strings.Contains(msg, s3test.VersitySecretKey) {
		t.Errorf("Probe error contains a secret: %q", msg)
	}
}

// forServers runs f once per S3 server (gofakes3, versitygw), so a fault
// test asserts the same against a lenient fake and a real server.
func forServers(t *testing.T, f func(t *testing.T, srv s3test.Server)) {
	for _, srv := range s3test.Servers() {
		t.Run(srv.Name, func(t *testing.T) { f(t, srv) })
	}
}

func TestS3MissingBucket(t *testing.T) {
	forServers(t, func(t *testing.T, srv s3test.Server) {
		cfg := srv.Start(t, nil)
		cfg.Bucket = "no-such-bucket"
		err := storage.Probe(testCtx(t), mustOpen(t, cfg))
		t.Logf("Probe error: %v", err)
		if err == nil || !strings.HasPrefix(err.Error(), "put probe: ") || !strings.Contains(err.Error(), "NoSuchBucket") {
			t.Fatalf("Probe error = %v, want put probe: … NoSuchBucket", err)
		}
	})
}

// TestS3RetriesFailedPart: one UploadPart that fails (500, 503 or a
// connection reset in the middle of its body) is retried by the SDK and the
// object arrives intact.
func TestS3RetriesFailedPart(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode s3test.PartFault
	}{
		{"500 InternalError", s3test.InternalError},
		{"503 SlowDown", s3test.SlowDown},
		{"reset mid-body", s3test.Reset},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forServers(t, func(t *testing.T, srv s3test.Server) {
				faults := &s3test.Faults{}
				faults.FailPart.Store(2)
				faults.Mode.Store(int32(tc.mode))
				faults.CutAfter.Store(1 << 20)
				s := mustOpen(t, srv.Start(t, faults))
				const key = "retry/obj"
				n, err := s.Put(testCtx(t), key, storagetest.Data(9, storagetest.LargeSize))
				if err != nil || n != storagetest.LargeSize {
					t.Fatalf("Put = %d, %v; want %d bytes despite one failed part", n, err, storagetest.LargeSize)
				}
				if faults.Failed() != 1 || faults.PartRequests() != 4 {
					t.Fatalf("faults: %d failed of %d part requests, want 1 of 4 (3 parts + 1 retry)", faults.Failed(), faults.PartRequests())
				}
				rc, err := s.Get(testCtx(t), key)
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				defer rc.Close()
				got, want := sha256.New(), sha256.New()
				_, _ = io.Copy(got, rc)
				_, _ = io.Copy(want, storagetest.Data(9, storagetest.LargeSize))
				if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
					t.Fatal("stored content differs after a retried part")
				}
			})
		})
	}
}

// TestS3AllPartsFail: every UploadPart failing (500, or the connection reset
// in the middle of every body) fails the Put after the SDK's retries, and
// leaves neither the object nor an incomplete upload behind.
func TestS3AllPartsFail(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode s3test.PartFault
		want string
	}{
		{"500 InternalError", s3test.InternalError, "InternalError"},
		// The transport reports the cut as a reset or a closed connection,
		// depending on which side of the socket notices first.
		{"reset mid-body", s3test.Reset, "exceeded maximum number of attempts, 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forServers(t, func(t *testing.T, srv s3test.Server) {
				faults := &s3test.Faults{}
				faults.FailAllParts.Store(true)
				faults.Mode.Store(int32(tc.mode))
				faults.CutAfter.Store(1 << 20)
				cfg := srv.Start(t, faults)
				cfg.MaxAttempts = 2
				s := mustOpen(t, cfg)
				const key = "allfail/obj"
				_, err := s.Put(testCtx(t), key, storagetest.Data(9, storagetest.LargeSize))
				if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "part") {
					t.Fatalf("Put error = %v, want a part failure with %s", err, tc.want)
				}
				t.Logf("Put error: %v", err)
				if faults.Failed() < 2 {
					t.Errorf("%d failed part requests, want at least 2 (the SDK retries)", faults.Failed())
				}
				if _, err := s.Stat(testCtx(t), key); !errors.Is(err, storage.ErrNotFound) {
					t.Errorf("Stat after failed Put: %v, want ErrNotFound", err)
				}
				if left := incomplete(t, s, ""); len(left) != 0 {
					t.Errorf("incomplete uploads after failed Put: %q", left)
				}
			})
		})
	}
}

// gateReader delivers data, blocks at a point until released, then continues.
type gateReader struct {
	r       io.Reader
	read    int64
	at      int64
	reached chan struct{}
	release chan struct{}
}

func newGate(r io.Reader, at int64) *gateReader {
	return &gateReader{r: r, at: at, reached: make(chan struct{}), release: make(chan struct{})}
}

func (g *gateReader) Read(p []byte) (int, error) {
	if g.read == g.at {
		close(g.reached)
		<-g.release
		g.at = -1
	}
	if g.at > g.read {
		p = p[:min(int64(len(p)), g.at-g.read)]
	}
	n, err := g.r.Read(p)
	g.read += int64(n)
	return n, err
}

// testCleanup leaves a stale leftover (made by makeStale) and a running Put;
// Cleanup must remove the first and spare the second.
func testCleanup(t *testing.T, s storage.Store, makeStale func(key string)) {
	makeStale("clean/stale.bin")
	if got := incomplete(t, s, "clean/"); !slices.Equal(got, []string{"clean/stale.bin"}) {
		t.Fatalf("Incomplete before Cleanup = %q, want the stale leftover", got)
	}
	if infos, _ := s.List(testCtx(t), "clean/"); len(infos) != 0 {
		t.Fatalf("List shows leftovers: %+v", infos)
	}
	gate := newGate(storagetest.Data(5, storagetest.LargeSize), 9<<20)
	done := make(chan error, 1)
	go func() {
		_, err := s.Put(testCtx(t), "clean/running.bin", gate)
		done <- err
	}()
	<-gate.reached
	deadline := time.Now().Add(10 * time.Second) // the first part may still be in flight
	for !slices.Contains(incomplete(t, s, "clean/"), "clean/running.bin") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.Cleanup(testCtx(t), "clean/"); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	if got := incomplete(t, s, "clean/"); !slices.Equal(got, []string{"clean/running.bin"}) {
		t.Errorf("Incomplete after Cleanup = %q, want only the running Put", got)
	}
	close(gate.release)
	if err := <-done; err != nil {
		t.Fatalf("Put running during Cleanup: %v", err)
	}
	if info, err := s.Stat(testCtx(t), "clean/running.bin"); err != nil || info.Size != storagetest.LargeSize {
		t.Fatalf("Stat = %+v, %v", info, err)
	}
}

// TestS3Cleanup: a stale multipart upload is removed, a running one spared.
func TestS3Cleanup(t *testing.T) {
	forServers(t, func(t *testing.T, srv s3test.Server) {
		cfg := srv.Start(t, nil)
		s := mustOpen(t, cfg)
		testCleanup(t, s, func(key string) {
			_, err := rawClient(cfg).CreateMultipartUpload(testCtx(t), &s3.CreateMultipartUploadInput{Bucket: &cfg.Bucket, Key: &key})
			if err != nil {
				t.Fatalf("create stale upload: %v", err)
			}
		})
	})
}

func TestS3StringHasNoSecrets(t *testing.T) {
	cfg := s3test.StartFake(t)
	cfg.Prefix = "prod"
	s := mustOpen(t, cfg)
	if got, want := s.String(), "s3:"+s3test.Bucket+"/prod"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
