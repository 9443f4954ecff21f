package bar

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1288490189: "1.2 GiB"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestLine(t *testing.T) {
	got := Line("backup", 50<<20, 100<<20, 10*time.Second)
	for _, want := range []string{"backup", "50%", "50.0 MiB/100.0 MiB", "5.0 MiB/s", "ETA 10s"} {
		if !strings.Contains(got, want) {
			t.Errorf("Line = %q, missing %q", got, want)
		}
	}
	if got := Line("x", 10, 0, time.Second); strings.Contains(got, "ETA") || strings.Contains(got, "%") {
		t.Errorf("unknown total: %q", got)
	}
}

func TestQuietWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "download", 100)
	b.Add(50)
	b.Set(100, 100)
	b.Finish()
	if buf.Len() != 0 {
		t.Fatalf("bar drew %q on a non-terminal", buf.String())
	}
}

func TestDrawsOnTerminal(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Unix(0, 0)
	b := newBar(&buf, "restore", 100, true, func() time.Time { return clock })
	clock = clock.Add(time.Second)
	b.Add(40)
	b.Finish()
	out := buf.String()
	if !strings.Contains(out, "40%") || !strings.HasSuffix(out, "\n") {
		t.Fatalf("bar output %q", out)
	}
}
