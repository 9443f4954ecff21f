package dump

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/dbclient"
)

// TestProbeStrayChildHoldingStdout: a pg_dump wrapper that leaves a child
// holding its stdout (here for 60 s) does not hold the probe up: the
// version it printed is read waitDelay after it exited, instead of when the
// child ends.
func TestProbeStrayChildHoldingStdout(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "pg_dump")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho 'pg_dump (PostgreSQL) 15.19'\n/bin/sleep 60 &\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	type result struct {
		t   tool
		err error
	}
	done := make(chan result, 1)
	go func() {
		tl, err := Tools{PgDump: script}.probe(context.Background(), dbclient.PostgreSQL, roleDump)
		done <- result{tl, err}
	}()
	select {
	case r := <-done:
		if r.err != nil || !strings.Contains(r.t.version, "15.19") {
			t.Fatalf("probe of a wrapper whose child holds stdout: version %q, %v", r.t.version, r.err)
		}
	case <-time.After(45 * time.Second): // the child lives 60 s: a hang, not a timing assertion
		t.Fatal("the probe waited for the wrapper's child")
	}
}
