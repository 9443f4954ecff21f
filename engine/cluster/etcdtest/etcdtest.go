// Package etcdtest runs a real etcd (Debian's etcd-server, the etcd
// binary on PATH) on loopback ports for tests, with a temporary data dir.
// Without the binary a test skips, or fails under CI=true.
package etcdtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Server is one etcd process; Stop and Start keep its data and ports.
type Server struct {
	t        testing.TB
	bin      string
	dir      string
	client   string // http://127.0.0.1:port
	peer     string
	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	logFile  string
	startCnt int
}

// Start runs etcd and waits until it answers; it is stopped at the end of
// the test.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("etcd not found (apt-get install etcd-server; .ci/services.sh installs it): %v", err)
		}
		t.Skipf("etcd not found (apt-get install etcd-server): %v", err)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	s.client = "http://" + freeAddr(t)
	s.peer = "http://" + freeAddr(t)
	s.logFile = filepath.Join(s.dir, "etcd.log")
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Endpoint is the client URL.
func (s *Server) Endpoint() string { return s.client }

// Section is the cluster: section of a jagad.yaml joining group on this
// server with lease TTL ttl (a duration, "6s").
func (s *Server) Section(group, ttl string) string {
	return fmt.Sprintf("cluster:\n  endpoints: [%q]\n  group: %s\n  lease_ttl: %s\n", s.client, group, ttl)
}

// Start starts the process (again) and waits until it serves.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		return
	}
	logf, err := os.OpenFile(s.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.mu.Unlock()
		s.t.Fatalf("etcd log: %v", err)
	}
	cmd := exec.Command(s.bin,
		"--name", "test", "--data-dir", filepath.Join(s.dir, "data"),
		"--listen-client-urls", s.client, "--advertise-client-urls", s.client,
		"--listen-peer-urls", s.peer, "--initial-advertise-peer-urls", s.peer,
		"--initial-cluster", "test="+s.peer, "--initial-cluster-state", "new",
		"--heartbeat-interval", "50", "--election-timeout", "500",
		"--logger", "zap", "--log-outputs", "stderr")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		s.mu.Unlock()
		s.t.Fatalf("start etcd: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	s.startCnt++
	s.mu.Unlock()

	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{s.client}, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		s.t.Fatalf("etcd client: %v", err)
	}
	defer cli.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := cli.Get(ctx, "health")
		cancel()
		if err == nil {
			return
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(s.logFile)
			s.t.Fatalf("etcd exited at start: %s", tail(log))
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("etcd did not answer within 60 s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop kills the process (SIGKILL: like a lost server) and waits for it.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Client returns a client of the server, closed at the end of the test.
func (s *Server) Client() *clientv3.Client {
	s.t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{s.client}, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		s.t.Fatalf("etcd client: %v", err)
	}
	s.t.Cleanup(func() { cli.Close() })
	return cli
}

func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return fmt.Sprintf("%s", b)
}
