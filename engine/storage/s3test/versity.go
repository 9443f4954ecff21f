package s3test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/jagad/jagad/engine/storage"

	"github.com/jagad/jagad/state/logbuf"
)

// Credentials of the versitygw root account started by StartVersity.
const (
	VersityAccessKey = "jagadtestaccess"
	VersitySecretKey = "jagad-test-secret-5f1c9a"
)

// VersityBinary finds versitygw: $JAGAD_VERSITYGW, else versitygw in PATH,
// else .bin/versitygw under the module root.
func VersityBinary() (string, error) {
	if p := os.Getenv("JAGAD_VERSITYGW"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, ".bin", "versitygw")
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("versitygw not found ($JAGAD_VERSITYGW, PATH, %s)", p)
			}
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("versitygw not found ($JAGAD_VERSITYGW, PATH) and no module root")
		}
		dir = parent
	}
}

// StartVersity starts versitygw serving a temp directory on a free port of
// 127.0.0.1, creates Bucket and returns a path-style Config for it. The
// server stops when the test ends. A missing binary fails the test under
// CI=true and skips it otherwise.
func StartVersity(tb testing.TB) storage.Config {
	tb.Helper()
	bin, err := VersityBinary()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("versitygw: %v", err)
		}
		tb.Skipf("versitygw: %v", err)
	}
	addr := freeAddr(tb)
	var out logbuf.Buffer
	cmd := exec.Command(bin, "--port", addr, "posix", tb.TempDir())
	cmd.Env = append(os.Environ(), // the secret goes through the environment, never argv
		"ROOT_ACCESS_KEY_ID="+VersityAccessKey, "ROOT_SECRET_ACCESS_KEY="+VersitySecretKey)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("versitygw: start: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	tb.Cleanup(func() { stop(cmd, exited) })

	cfg := storage.Config{
		Type:      storage.TypeS3Compat,
		Endpoint:  "http://" + addr,
		Region:    "us-east-1",
		Bucket:    Bucket,
		AccessKey: VersityAccessKey,
		SecretKey: VersitySecretKey,
		PathStyle: true,
	}
	if err := waitReady(addr, exited, 20*time.Second); err != nil {
		tb.Fatalf("versitygw: %v\n%s", err, out.String())
	}
	if err := createBucket(cfg); err != nil {
		tb.Fatalf("versitygw: create bucket: %v\n%s", err, out.String())
	}
	return cfg
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("free port: %v", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// waitReady polls until the server answers HTTP.
func waitReady(addr string, exited <-chan struct{}, limit time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("exited before it was ready")
		default:
		}
		if resp, err := client.Get("http://" + addr + "/"); err == nil {
			_ = resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not ready on %s after %s", addr, limit)
}

func createBucket(cfg storage.Config) error {
	client := s3.New(s3.Options{
		BaseEndpoint: aws.String(cfg.Endpoint),
		Region:       cfg.Region,
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, ""),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(cfg.Bucket)})
	return err
}

// stop ends the server: SIGTERM to its process group, SIGKILL after 5 s.
func stop(cmd *exec.Cmd, exited <-chan struct{}) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}
