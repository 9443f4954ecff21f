package engine

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// maxLogBytes bounds a job log kept on its record; the head and the tail
// are kept when a tool is very chatty.
const maxLogBytes = 64 << 10

// jobLog is a job's log: lines from Jagad and the tools' stderr, with the
// secrets it was told about scrubbed. It is an io.Writer for tool output.
type jobLog struct {
	mu      sync.Mutex
	b       strings.Builder
	dropped int
	secrets []string
	now     func() time.Time
}

func newJobLog(now func() time.Time, secrets ...string) *jobLog {
	l := &jobLog{now: now}
	for _, s := range secrets {
		if len(s) >= 3 {
			l.secrets = append(l.secrets, s)
		}
	}
	return l
}

// Printf appends one line.
func (l *jobLog) Printf(format string, args ...any) {
	l.append(fmt.Sprintf(format, args...) + "\n")
}

// Write implements io.Writer for tool stderr.
func (l *jobLog) Write(p []byte) (int, error) {
	s := string(p)
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	l.append(s)
	return len(p), nil
}

func (l *jobLog) append(s string) {
	s = l.scrub(s)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len()+len(s) > maxLogBytes {
		l.dropped += len(s)
		return
	}
	l.b.WriteString(s)
}

// String returns the log so far.
func (l *jobLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dropped > 0 {
		return l.b.String() + fmt.Sprintf("... (%d bytes of log dropped)\n", l.dropped)
	}
	return l.b.String()
}

// scrub removes the job's secrets from s.
func (l *jobLog) scrub(s string) string {
	for _, sec := range l.secrets {
		s = strings.ReplaceAll(s, sec, "<redacted>")
	}
	return s
}
