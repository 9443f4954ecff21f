package dump

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
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

// TestToolPipePacing: after a short read the next read waits paceWait for
// the pipe to fill; after a read of paceSmall or more, or one that filled
// the buffer, it does not; a pipe that did not grow is never paced. A
// stream ends in io.EOF once the writer is closed.
func TestToolPipePacing(t *testing.T) {
	r, w, err := newToolPipe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if !r.paced {
		t.Fatal("the pipe did not grow to pipeSize: not paced")
	}
	var sleeps []time.Duration
	r.sleep = func(d time.Duration) { sleeps = append(sleeps, d) }
	buf := make([]byte, pipeSize)
	step := func(write, wantRead, wantSleeps int) {
		t.Helper()
		if _, err := w.Write(make([]byte, write)); err != nil {
			t.Fatal(err)
		}
		n, err := r.Read(buf)
		if n != wantRead || err != nil || len(sleeps) != wantSleeps {
			t.Fatalf("wrote %d: read %d, %v after %d sleeps; want %d, nil, %d sleeps", write, n, err, len(sleeps), wantRead, wantSleeps)
		}
	}
	step(100, 100, 0)             // the first read: no wait
	step(paceSmall, paceSmall, 1) // after a short read: a wait
	step(10, 10, 1)               // after a long one: none
	small := buf[:20]             // a read that fills its buffer is not short
	if _, err := w.Write(make([]byte, 50)); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Read(small); n != 20 || err != nil || len(sleeps) != 2 {
		t.Fatalf("read %d, %v after %d sleeps; want 20, nil after 2", n, err, len(sleeps))
	}
	if n, err := r.Read(buf); n != 30 || err != nil || len(sleeps) != 2 {
		t.Fatalf("read %d, %v after %d sleeps; want 30, nil after 2", n, err, len(sleeps))
	}
	if sleeps[0] != paceWait {
		t.Fatalf("slept %v, want %v", sleeps[0], paceWait)
	}
	_ = w.Close()
	if n, err := r.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("after close: %d, %v; want 0, EOF", n, err)
	}

	sleeps = nil
	r2, w2, err := newToolPipe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	defer w2.Close()
	r2.paced, r2.sleep = false, r.sleep
	for range 3 {
		if _, err := w2.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if n, err := r2.Read(buf); n != 1 || err != nil {
			t.Fatalf("unpaced read %d, %v", n, err)
		}
	}
	if len(sleeps) != 0 {
		t.Fatalf("an unpaced pipe slept %d times", len(sleeps))
	}
}

// TestToolPipeWaitsForTheWriter: a read of an empty pipe waits for data (in
// poll, not a failure), however long the writer takes.
func TestToolPipeWaitsForTheWriter(t *testing.T) {
	r, w, err := newToolPipe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() {
		time.Sleep(3 * pollWait) // several poll timeouts pass first
		_, _ = w.Write([]byte("late"))
		_ = w.Close()
	}()
	got, err := io.ReadAll(r)
	if string(got) != "late" || err != nil {
		t.Fatalf("read %q, %v; want \"late\", nil", got, err)
	}
}

// TestToolPipeStrayWriter: after cancellation, a pipe that a stray process
// keeps open (no EOF) fails the read with the context's error once the
// stray delay has passed, instead of blocking forever.
func TestToolPipeStrayWriter(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r, w, err := newToolPipe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close() // held open: the stray writer
	r.stray = 10 * time.Millisecond
	cancel()
	if n, err := r.Read(make([]byte, 10)); n != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("read %d, %v; want 0, context.Canceled", n, err)
	}
}

// TestOutputCheckReadFrom: read through ReadFrom (the pipeline reading the
// tool's pipe into its own buffers), a MySQL stream reaches the sink whole,
// is counted, its rows are counted and its trailer found, as through Write;
// output that is not a pg_dump archive is refused before any of it goes on.
func TestOutputCheckReadFrom(t *testing.T) {
	var sink bytes.Buffer
	first := 0
	o := &outputCheck{w: &sink, onFirst: func() { first++ }, rows: newRowCounter([]string{"we`ird", "empty", "nums"})}
	n, err := copyOut(o, iotest.HalfReader(strings.NewReader(rowcountDump)))
	if err != nil || n != int64(len(rowcountDump)) || sink.String() != rowcountDump || o.n != n || first != 1 {
		t.Fatalf("copied %d, %v; sink has %d bytes, counted %d, onFirst ran %d times", n, err, sink.Len(), o.n, first)
	}
	if err := o.finish("mariadb-dump"); err != nil {
		t.Fatal(err)
	}
	if got, err := o.rows.result(); err != nil || !maps.Equal(got, rowcountWant) {
		t.Fatalf("rows %v, %v; want %v", got, err, rowcountWant)
	}

	sink.Reset()
	o = &outputCheck{w: &sink, pg: true}
	if _, err := copyOut(o, strings.NewReader("PGDMQ and more")); !errors.Is(err, errNotArchive) || sink.Len() != 0 {
		t.Fatalf("copy = %v with %d bytes forwarded; want %v, none", err, sink.Len(), errNotArchive)
	}
}
