package dump

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// waitingWriter blocks its first Write until the file marker exists, then
// records the size of every Write.
type waitingWriter struct {
	marker string
	sizes  []int
}

func (w *waitingWriter) Write(p []byte) (int, error) {
	if len(w.sizes) == 0 {
		// Without the larger pipe the tool blocks at 64 KiB and never
		// writes the marker: stop waiting after a while, and the sizes fail
		// the test.
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
			if _, err := os.Stat(w.marker); err == nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	w.sizes = append(w.sizes, len(p))
	return len(p), nil
}

// TestToolOutputReadInLargeReads: the tool's stdout pipe is grown to
// pipeSize and read pipeSize at a time, not through *os.File's 32 KiB
// WriteTo. The tool writes 900,000 bytes (more than Linux's default 64 KiB
// pipe, less than pipeSize) and only then creates the marker; the first
// write into the pipeline waits for the marker, so everything after it is
// already in the pipe and arrives in one read.
func TestToolOutputReadInLargeReads(t *testing.T) {
	dir := t.TempDir()
	w := &waitingWriter{marker: filepath.Join(dir, "written")}
	script := `head -c 100 /dev/zero; sleep 0.2; head -c 899900 /dev/zero; touch "$1"`
	err := run(context.Background(), spec{tool: tool{name: "sh", path: "/bin/sh"},
		args: []string{"-c", script, "sh", w.marker}, env: childEnv(false), stdout: w})
	if err != nil {
		t.Fatal(err)
	}
	total, largest := 0, 0
	for _, n := range w.sizes {
		total += n
		largest = max(largest, n)
	}
	if total != 900_000 || largest < 800_000 {
		t.Fatalf("%d bytes in writes of %v; want 900000, one of them ≥ 800000", total, w.sizes)
	}
}
