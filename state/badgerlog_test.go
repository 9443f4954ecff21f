package state

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestBadgerLoggerLevels(t *testing.T) {
	var buf bytes.Buffer
	l := newBadgerLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	l.Infof("chatty %d\n", 1)
	l.Debugf("chattier")
	if buf.Len() != 0 {
		t.Fatalf("badger INFO/DEBUG reached an INFO logger: %s", buf.String())
	}
	l.Warningf("careful %s\n", "now")
	l.Errorf("broken")
	out := buf.String()
	for _, want := range []string{"level=WARN", `msg="careful now"`, "level=ERROR", "msg=broken", "component=badger"} {
		if !strings.Contains(out, want) {
			t.Errorf("log %q lacks %q", out, want)
		}
	}
}

func TestGCLoopStopsOnClose(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir(), MasterKey: testKey(1), GCInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, s, func(tx *Tx) error { return Put(tx, Database{ID: "db_1"}) })
	time.Sleep(50 * time.Millisecond) // a few GC rounds
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.gcDone:
	default:
		t.Fatal("gc goroutine still running after Close")
	}
}
