// Package bar draws a one-line progress bar (bytes, rate, ETA) on a
// terminal, and nothing when its output is not one.
package bar

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Bar is a progress line for a transfer of total bytes (0 when unknown).
// It is safe for concurrent use.
type Bar struct {
	mu      sync.Mutex
	w       io.Writer
	label   string
	total   int64
	done    int64
	start   time.Time
	last    time.Time
	now     func() time.Time
	enabled bool
}

// New returns a bar writing to w. It draws only when w is a terminal, so
// output piped to a file or a script stays clean.
func New(w io.Writer, label string, total int64) *Bar {
	return newBar(w, label, total, IsTerminal(w), time.Now)
}

func newBar(w io.Writer, label string, total int64, enabled bool, now func() time.Time) *Bar {
	t := now()
	return &Bar{w: w, label: label, total: total, start: t, now: now, enabled: enabled}
}

// IsTerminal reports whether w is an open terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Write counts p as transferred, so a Bar can sit in an io.TeeReader or
// io.MultiWriter.
func (b *Bar) Write(p []byte) (int, error) {
	b.Add(int64(len(p)))
	return len(p), nil
}

// Add counts n more bytes.
func (b *Bar) Add(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	b.drawLocked(false)
}

// Set sets the bytes transferred and the total (0 keeps the current total),
// for progress reported by someone else (the daemon).
func (b *Bar) Set(done, total int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = done
	if total > 0 {
		b.total = total
	}
	b.drawLocked(false)
}

// Finish draws the final state and ends the line.
func (b *Bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.enabled {
		return
	}
	b.drawLocked(true)
	fmt.Fprintln(b.w)
}

func (b *Bar) drawLocked(force bool) {
	if !b.enabled {
		return
	}
	now := b.now()
	if !force && now.Sub(b.last) < 100*time.Millisecond {
		return
	}
	b.last = now
	fmt.Fprint(b.w, "\r"+Line(b.label, b.done, b.total, now.Sub(b.start))+"\x1b[K")
}

// Line renders one progress line: label, bar, bytes, rate and ETA.
func Line(label string, done, total int64, elapsed time.Duration) string {
	var sb strings.Builder
	sb.WriteString(label)
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	if total > 0 {
		frac := float64(done) / float64(total)
		frac = min(max(frac, 0), 1)
		const width = 24
		n := int(frac * width)
		fmt.Fprintf(&sb, " [%s%s] %3.0f%% %s/%s", strings.Repeat("=", n), strings.Repeat(" ", width-n), frac*100, Size(done), Size(total))
	} else {
		fmt.Fprintf(&sb, " %s", Size(done))
	}
	fmt.Fprintf(&sb, " %s/s", Size(int64(rate)))
	if total > 0 && rate > 0 && done < total {
		eta := time.Duration(float64(total-done) / rate * float64(time.Second))
		fmt.Fprintf(&sb, " ETA %s", eta.Round(time.Second))
	}
	return sb.String()
}

// Size renders n bytes for people: 512 B, 1.2 KiB, 3.4 GiB.
func Size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
