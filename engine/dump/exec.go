package dump

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jagad/jagad/engine/dbclient"
)

// waitDelay bounds how long Wait waits for I/O after the process exited or
// was killed.
const waitDelay = 5 * time.Second

// pidHookKey carries a test hook that receives the child's PID after start.
type pidHookKey struct{}

func withPIDHook(ctx context.Context, fn func(pid int)) context.Context {
	return context.WithValue(ctx, pidHookKey{}, fn)
}

// spec is one tool run.
type spec struct {
	tool   tool
	args   []string
	env    []string
	secret string    // scrubbed (with its escaped forms) from stderr lines
	log    io.Writer // receives stderr lines; may be nil
	stdin  io.Reader // nil: no input
	stdout io.Writer // nil: output discarded
	// dieWithParent: the tool gets SIGKILL when this process dies (a
	// long-running pg_receivewal must not outlive a killed daemon and
	// keep its replication slot busy).
	dieWithParent bool
}

// run executes the tool in its own process group; on ctx cancellation or any
// streaming failure the whole group is killed with SIGKILL. It returns when
// the process has exited and stdin is no longer read.
func run(ctx context.Context, s spec) error {
	cmd := exec.CommandContext(ctx, s.tool.path, s.args...)
	cmd.Env = s.env
	cmd.Dir = os.TempDir()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if s.dieWithParent {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	cmd.Cancel = func() error { return killGroup(cmd) }
	cmd.WaitDelay = waitDelay
	errLines := &lineWriter{secrets: secretForms(s.secret), log: s.log, keep: 8}
	cmd.Stderr = errLines
	var stdout *toolPipe
	var stdin io.WriteCloser
	var err error
	if s.stdout != nil {
		var w *os.File
		if stdout, w, err = newToolPipe(ctx); err != nil {
			return fmt.Errorf("%s output: %w", s.tool.name, err)
		}
		defer stdout.Close()
		cmd.Stdout = w
	}
	if s.stdin != nil {
		if stdin, err = cmd.StdinPipe(); err != nil {
			if w, ok := cmd.Stdout.(*os.File); ok {
				_ = w.Close()
			}
			return err
		}
	}
	startErr := cmd.Start()
	if w, ok := cmd.Stdout.(*os.File); ok {
		_ = w.Close() // the tool has its own; ours would keep the pipe open (no EOF)
	}
	if startErr != nil {
		return fmt.Errorf("start %s: %w", s.tool.name, startErr)
	}
	if hook, ok := ctx.Value(pidHookKey{}).(func(int)); ok {
		hook(cmd.Process.Pid)
	}
	var fd *feeder
	if s.stdin != nil {
		fd = feed(stdin, s.stdin, func() { _ = killGroup(cmd) })
	}
	var copyErr error
	if stdout != nil {
		if _, copyErr = copyOut(s.stdout, stdout); copyErr != nil {
			_ = killGroup(cmd)
		}
	}
	waitErr := cmd.Wait()
	errLines.flush()
	var feedErr error
	if fd != nil {
		if waitErr != nil || ctx.Err() != nil {
			fd.stop()
		}
		feedErr = fd.wait()
	}
	return runError(ctx, s.tool.name, copyErr, feedErr, waitErr, errLines.last())
}

// copyOut copies a tool's output to w. A w that reads by itself (the
// pipeline's outputCheck) reads it into its own buffers; any other gets
// reads of up to a whole (grown) pipe.
func copyOut(w io.Writer, r io.Reader) (int64, error) {
	if rf, ok := w.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.CopyBuffer(w, r, make([]byte, pipeSize))
}

// runError picks the root cause: cancellation, our output/input side, then
// the tool's own exit status.
func runError(ctx context.Context, name string, copyErr, feedErr, waitErr error, stderr string) error {
	detail := ""
	if stderr != "" {
		detail = ": " + stderr
	}
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w (process group killed)", name, ctx.Err())
	case copyErr != nil:
		return fmt.Errorf("%s output: %w", name, copyErr)
	case feedErr != nil:
		return fmt.Errorf("%s input: %w", name, feedErr)
	case waitErr == nil:
		return nil
	}
	var exitErr *exec.ExitError
	if errors.As(waitErr, &exitErr) {
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Errorf("%s killed by signal %v%s", name, ws.Signal(), detail)
		}
		return fmt.Errorf("%s exited with status %d%s", name, exitErr.ExitCode(), detail)
	}
	return fmt.Errorf("%s: %w%s", name, waitErr, detail)
}

// killGroup sends SIGKILL to the child's whole process group.
func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// feeder copies an input stream into the tool's stdin. When the tool stops
// reading, the rest of the input is still drained (so upstream readers can
// verify their trailing checksums) unless stop is called.
type feeder struct {
	done    chan struct{}
	stopped chan struct{}
	once    sync.Once
	err     error
}

func feed(w io.WriteCloser, r io.Reader, kill func()) *feeder {
	f := &feeder{done: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(f.done)
		buf := make([]byte, 256<<10)
		writing := true
		for {
			select {
			case <-f.stopped:
				_ = w.Close()
				return
			default:
			}
			n, err := r.Read(buf)
			if n > 0 && writing {
				if _, werr := w.Write(buf[:n]); werr != nil {
					writing = false
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				// Kill before closing stdin: the tool must not mistake a
				// failed input for a complete one.
				f.err = err
				kill()
				break
			}
		}
		_ = w.Close()
	}()
	return f
}

func (f *feeder) stop() { f.once.Do(func() { close(f.stopped) }) }

func (f *feeder) wait() error {
	<-f.done
	return f.err
}

// lineWriter splits a tool's stderr into lines, scrubs the secret, forwards
// them to log and keeps the last few for error messages. Memory is bounded:
// longer lines are cut at maxLine bytes.
type lineWriter struct {
	secrets []string
	log     io.Writer
	keep    int

	mu      sync.Mutex
	partial []byte
	lines   []string
}

const maxLine = 4096

func (lw *lineWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	for _, b := range p {
		if b == '\n' {
			lw.emit()
			continue
		}
		if len(lw.partial) < maxLine {
			lw.partial = append(lw.partial, b)
		}
	}
	return len(p), nil
}

func (lw *lineWriter) emit() {
	line := scrub(strings.TrimRight(string(lw.partial), "\r"), lw.secrets)
	lw.partial = lw.partial[:0]
	if strings.TrimSpace(line) == "" {
		return
	}
	if lw.log != nil {
		_, _ = io.WriteString(lw.log, line+"\n")
	}
	lw.lines = append(lw.lines, line)
	if len(lw.lines) > lw.keep {
		lw.lines = lw.lines[1:]
	}
}

func (lw *lineWriter) flush() {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if len(lw.partial) > 0 {
		lw.emit()
	}
}

func (lw *lineWriter) last() string {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return strings.Join(lw.lines, "; ")
}

// secretForms is the password as written in the credential files too, so a
// tool echoing its option file does not leak it either.
func secretForms(pw string) []string {
	if pw == "" {
		return nil
	}
	forms := []string{pw}
	for _, f := range []string{pgpassEscape(pw), strings.Trim(cnfQuote(pw), `"`)} {
		if !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	// Longest first, so a form containing another is replaced whole.
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	return forms
}

func scrub(s string, secrets []string) string {
	for _, sec := range secrets {
		s = dbclient.Scrub(s, sec)
	}
	return s
}
