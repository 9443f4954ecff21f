package main

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jagad/jagad/state/logbuf"
)

// TestSIGHUPWhileStarting sends SIGHUP to the process while the daemon is
// still starting (systemctl reload right after start). Before serve caught
// the signal from its first moment, the default action killed the process
// (and with it this test); now the signal is kept and reloads once ready.
func TestSIGHUPWhileStarting(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "jagad.yaml")
	yaml := "version: 1\nstorage:\n  - name: local\n    provider_type: local\n    path: " + filepath.Join(dir, "backups") + "\n    is_default: true\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"JAGAD_LISTEN":   "127.0.0.1:0",
		"JAGAD_DATA_DIR": filepath.Join(dir, "data"),
		"JAGAD_CONFIG":   cfg,
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	c, err := parseServeFlags(nil, io.Discard, lookup)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logbuf.Buffer{}
	log, err := newLogger(logs, c.logLevel, c.logFormat)
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	c.hooks = serveHooks{
		listening: func(net.Addr) {
			if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
				t.Errorf("send SIGHUP: %v", err)
			}
		},
		ready: func(*daemon) { close(ready) },
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, c, log, lookup) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("serve ended while starting: %v\n%s", err, logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("not ready after 60 s\n%s", logs)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "SIGHUP: reloading config") {
		if time.Now().After(deadline) {
			t.Fatalf("the SIGHUP sent while starting did not reload once ready:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
