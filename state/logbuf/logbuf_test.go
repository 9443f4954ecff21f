package logbuf

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentWrites runs under -race: writers and a reader at once, and
// every line arrives whole.
func TestConcurrentWrites(t *testing.T) {
	var buf Buffer
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				fmt.Fprintf(&buf, "w%d-%d\n", w, i)
				_ = buf.String()
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 400 {
		t.Fatalf("got %d lines, want 400", len(lines))
	}
	for _, want := range []string{"w0-0", "w3-99"} {
		if !strings.Contains(buf.String(), want+"\n") {
			t.Errorf("missing line %q", want)
		}
	}
}
