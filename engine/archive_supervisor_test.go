package engine

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// archiveRuns starts a wanted archiver once, leaves it running while its
// key stays, restarts it (stopped(false)) when the key changes and stops
// it (stopped(true)) when it is no longer wanted.
func TestArchiveRunsSync(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := &Engine{ctx: ctx}
	var mu sync.Mutex
	var events []string
	note := func(s string) { mu.Lock(); events = append(events, s); mu.Unlock() }
	want := func(key string) archiveWant {
		return archiveWant{key: key,
			run: func(ctx context.Context) { note("run " + key); <-ctx.Done(); note("end " + key) },
			stopped: func(removed bool) {
				note("stopped " + key + map[bool]string{true: " removed", false: " restart"}[removed])
			}}
	}
	a := newArchiveRuns()
	waitEvents := func(n int) []string {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			mu.Lock()
			got := append([]string(nil), events...)
			mu.Unlock()
			if len(got) >= n {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("events %v, want %d", got, n)
			}
		}
	}
	a.sync(e, map[string]archiveWant{"c1": want("k1")})
	waitEvents(1)
	a.sync(e, map[string]archiveWant{"c1": want("k1")}) // unchanged: keeps running
	a.sync(e, map[string]archiveWant{"c1": want("k2")})
	waitEvents(4)
	a.sync(e, map[string]archiveWant{})
	got := waitEvents(6)
	wantEv := []string{"run k1", "end k1", "stopped k1 restart", "run k2", "end k2", "stopped k2 removed"}
	if strings.Join(got, "|") != strings.Join(wantEv, "|") {
		t.Fatalf("events %v, want %v", got, wantEv)
	}
	e.loops.Wait()
	cancel()
	a.sync(e, map[string]archiveWant{"c1": want("k3")}) // the engine stops: nothing starts
	if len(a.running) != 0 {
		t.Fatalf("archiver started on a stopped engine: %v", a.running)
	}
}

// superviseArchive retries a failing call with a doubling wait (capped),
// and stops once the call succeeds.
func TestSuperviseArchiveBackoff(t *testing.T) {
	var waits []time.Duration
	calls := 0
	superviseArchive(context.Background(), 2*time.Second, time.Hour, func(context.Context) error {
		calls++
		if calls < 4 {
			return errors.New("down")
		}
		return nil
	}, func(err error, wait time.Duration) { waits = append(waits, wait) })
	if calls != 4 || len(waits) != 3 || waits[0] != time.Second || waits[1] != 2*time.Second || waits[2] != 2*time.Second {
		t.Fatalf("calls %d, waits %v; want 4 calls and waits 1s 2s 2s", calls, waits)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls = 0
	superviseArchive(ctx, time.Second, time.Hour, func(context.Context) error { calls++; return errors.New("x") },
		func(error, time.Duration) { t.Fatal("a failure reported after ctx ended") })
	if calls != 0 {
		t.Fatalf("called %d times with ctx done", calls)
	}
}

// toolLog logs a record per stderr line, with secrets scrubbed.
func TestToolLogScrubs(t *testing.T) {
	var buf bytes.Buffer
	w := toolLog{log: slog.New(slog.NewTextHandler(&buf, nil)), level: slog.LevelWarn, tool: "mariadb-binlog",
		secrets: []string{"hunter2"}}
	if _, err := w.Write([]byte("connect failed: password hunter2 rejected\n\nsecond line\n")); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "hunter2") || strings.Count(out, "msg=mariadb-binlog") != 2 || !strings.Contains(out, "second line") {
		t.Fatalf("log:\n%s", out)
	}
}
