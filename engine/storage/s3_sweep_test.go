package storage_test

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/engine/storage/s3test"
	"github.com/jagad/jagad/engine/storage/storagetest"
)

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// withRuntime gives cfg a logger writing to the returned buffer and metrics
// on a fresh registry.
func withRuntime(cfg *storage.Config, name string) (*logBuffer, *storage.Metrics) {
	logs := &logBuffer{}
	m := storage.NewMetrics(prometheus.NewRegistry())
	cfg.Name = name
	cfg.Runtime = storage.Runtime{Logger: slog.New(slog.NewTextHandler(logs, nil)), Metrics: m}
	return logs, m
}

func rawClient(cfg storage.Config) *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(cfg.Endpoint), Region: cfg.Region, UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, ""),
	})
}

// TestS3AbortFailureLoggedCountedSwept: the S3 server dies in the middle
// of a multipart upload, so the Put fails and so does its abort. The failed
// abort is logged (without secrets) and counted; the upload is left behind;
// a sweep does not touch it while it is fresh and aborts it once stale.
func TestS3AbortFailureLoggedCountedSwept(t *testing.T) {
	forServers(t, testAbortFailureLoggedCountedSwept)
}

func testAbortFailureLoggedCountedSwept(t *testing.T, srv s3test.Server) {
	faults := &s3test.Faults{}
	cfg := srv.Start(t, faults)
	cfg.MaxAttempts = 2
	logs, m := withRuntime(&cfg, "flaky-prov")
	s := mustOpen(t, cfg)
	const key = "backups/conn/db/bck_1-20260101-020000.pgdump.gz"

	gate := newGate(storagetest.Data(3, storagetest.LargeSize), 9<<20) // after the first 8 MiB part
	done := make(chan error, 1)
	go func() {
		_, err := s.Put(testCtx(t), key, gate)
		done <- err
	}()
	<-gate.reached
	faults.Down.Store(true) // the server dies: the next part and the abort fail
	close(gate.release)
	if err := <-done; err == nil {
		t.Fatal("Put succeeded against a dead server")
	}
	faults.Down.Store(false) // the server is back; the upload is still there

	if got := testutil.ToFloat64(m.AbortFailures("flaky-prov")); got != 1 {
		t.Errorf("jagad_storage_multipart_abort_failures_total{provider=flaky-prov} = %v, want 1", got)
	}
	out := logs.String()
	if !strings.Contains(out, "could not be aborted") || !strings.Contains(out, "provider=flaky-prov") || !strings.Contains(out, key) {
		t.Errorf("no log line names the failed abort:\n%s", out)
	}
	if strings.Contains(out, cfg.SecretKey) || strings.Contains(out, cfg.AccessKey) {
		t.Errorf("log holds a credential:\n%s", out)
	}
	if left := incomplete(t, s, "backups/"); !slices.Equal(left, []string{key}) {
		t.Fatalf("incomplete uploads = %q, want the one left behind", left)
	}

	sw := s.(storage.Sweepable)
	res, err := sw.Sweep(testCtx(t), time.Hour, time.Now())
	if err != nil || res.Found != 1 || res.Aborted != 0 {
		t.Fatalf("Sweep of a fresh upload = %+v, %v; want found 1, aborted 0", res, err)
	}
	res, err = sw.Sweep(testCtx(t), time.Hour, time.Now().Add(2*time.Hour))
	if err != nil || res.Aborted != 1 {
		t.Fatalf("Sweep of a stale upload = %+v, %v; want aborted 1", res, err)
	}
	if left := incomplete(t, s, "backups/"); len(left) != 0 {
		t.Errorf("incomplete uploads after the sweep: %q", left)
	}
	if got := testutil.ToFloat64(m.Swept("flaky-prov")); got != 1 {
		t.Errorf("jagad_storage_multipart_swept_total = %v, want 1", got)
	}
}

// TestVersitySweepStaleNotFresh runs the sweep loop against a real S3
// server: of two leftovers under backups/ only the one older than the
// longest backup timeout (plus the margin) is aborted; a stale upload
// outside Jagad's prefixes is never touched, and a Put running through the
// store is spared even when a later sweep finds it stale.
func TestVersitySweepStaleNotFresh(t *testing.T) {
	cfg := s3test.StartVersity(t)
	logs, m := withRuntime(&cfg, "versity")
	s := mustOpen(t, cfg)
	client := rawClient(cfg)
	create := func(key string) {
		t.Helper()
		if _, err := client.CreateMultipartUpload(testCtx(t), &s3.CreateMultipartUploadInput{Bucket: &cfg.Bucket, Key: &key}); err != nil {
			t.Fatalf("create upload %s: %v", key, err)
		}
	}
	create("other/stale.bin")
	create("backups/c/d/stale.bin")
	time.Sleep(1100 * time.Millisecond) // Initiated has one-second resolution on some servers
	create("backups/c/d/fresh.bin")

	initiated := map[string]time.Time{}
	out, err := client.ListMultipartUploads(testCtx(t), &s3.ListMultipartUploadsInput{Bucket: &cfg.Bucket})
	if err != nil {
		t.Fatalf("list uploads: %v", err)
	}
	for _, u := range out.Uploads {
		initiated[aws.ToString(u.Key)] = aws.ToTime(u.Initiated)
	}
	stale, fresh := initiated["backups/c/d/stale.bin"], initiated["backups/c/d/fresh.bin"]
	if !stale.Before(fresh) {
		t.Fatalf("initiated times %v, %v: want the stale one first", stale, fresh)
	}
	const timeout = 6 * time.Hour
	// now puts the cutoff (now - timeout - margin) halfway between the two.
	now := stale.Add(fresh.Sub(stale)/2 + timeout + storage.SweepMargin)

	// A Put running through the store, as old as anything (now is far ahead).
	gate := newGate(storagetest.Data(4, storagetest.LargeSize), 9<<20)
	done := make(chan error, 1)
	go func() {
		_, err := s.Put(testCtx(t), "backups/c/d/running.bin", gate)
		done <- err
	}()
	<-gate.reached
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Contains(incomplete(t, s, "backups/"), "backups/c/d/running.bin") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}

	loop := storage.NewSweepLoop(storage.SweepOptions{
		Stores: func(context.Context) (map[string]storage.Store, error) {
			return map[string]storage.Store{"versity": s, "local": storage.NewLocal(t.TempDir())}, nil
		},
		LongestTimeout: func() time.Duration { return timeout },
		Now:            func() time.Time { return now },
		Logger:         slog.New(slog.NewTextHandler(logs, nil)),
	})
	loop.Once(testCtx(t))

	if got := incomplete(t, s, "backups/"); !slices.Equal(got, []string{"backups/c/d/fresh.bin", "backups/c/d/running.bin"}) {
		t.Errorf("incomplete under backups/ after the sweep = %q, want fresh and running", got)
	}
	if got := incomplete(t, s, "other/"); !slices.Equal(got, []string{"other/stale.bin"}) {
		t.Errorf("incomplete under other/ = %q, want it untouched", got)
	}
	if got := testutil.ToFloat64(m.Swept("versity")); got != 1 {
		t.Errorf("jagad_storage_multipart_swept_total = %v, want 1", got)
	}

	// Hours later everything is stale, but the Put still running through
	// this store is spared.
	later := time.Now().Add(timeout + storage.SweepMargin + time.Hour)
	if res, err := s.(storage.Sweepable).Sweep(testCtx(t), timeout+storage.SweepMargin, later); err != nil || res.Aborted != 1 {
		t.Errorf("second Sweep = %+v, %v; want the fresh upload aborted", res, err)
	}
	if got := incomplete(t, s, "backups/"); !slices.Equal(got, []string{"backups/c/d/running.bin"}) {
		t.Errorf("incomplete under backups/ after the second sweep = %q, want only the running Put", got)
	}
	close(gate.release)
	if err := <-done; err != nil {
		t.Fatalf("the running Put: %v", err)
	}
	if !strings.Contains(logs.String(), "aborted a stale s3 multipart upload") {
		t.Errorf("the sweep logged nothing:\n%s", logs.String())
	}
}
