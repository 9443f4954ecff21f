package dump

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A tool's stdout is read through a pipe of our own, outside Go's netpoller.
//
// mariadb-dump writes through stdio in 4 KiB writes (~18,000 for a 74 MB
// dump). A pipe from os.Pipe (exec's StdoutPipe) is registered with the
// runtime's epoll, edge-triggered, and every one of those writes wakes a
// thread blocked in epoll_pwait, whether or not the reader waits; a reader
// faster than the tool also parks and is woken for each write. Here the read
// end is a non-blocking descriptor the runtime does not know: after a short
// read the reader waits paceWait for the pipe to fill (at most one wake-up
// per paceWait while the tool streams), and only an empty pipe makes it
// wait in poll(2) for the tool. A pipeSize pipe holds a paceWait of output
// up to ~500 MB/s, so the tool does not block on it; a read of at least
// paceSmall says the tool is faster than that, and the next read follows at
// once.
const (
	paceWait  = 2 * time.Millisecond // 1 ms: 8% more CPU on the MariaDB bench (PERF-NOTES.md)
	paceSmall = pipeSize / 4
	// pollWait bounds a wait in poll(2), so that cancellation is noticed.
	pollWait = 50 * time.Millisecond
)

// pipeSize is the capacity asked for the tool's stdout pipe (Linux's default
// is 64 KiB). A read returns at most what the pipe holds, so a larger pipe
// means fewer reads and wake-ups for both sides.
const pipeSize = 1 << 20

// fSetPipeSz is Linux's F_SETPIPE_SZ fcntl command.
const fSetPipeSz = 1031

// toolPipe is the read end of a tool's stdout pipe.
type toolPipe struct {
	fd    int
	ctx   context.Context
	sleep func(time.Duration)
	// paced: the pipe grew to pipeSize, so waiting paceWait after a short
	// read does not hold the tool back. A smaller pipe is read at once.
	paced bool
	short bool // the last read was short: wait before the next
	// stray: how long after ctx is done Read still waits for EOF (a stray
	// process may hold the pipe open; waitDelay, as exec.Cmd waits).
	stray time.Duration
	gone  time.Time // when ctx was seen done
	once  sync.Once
}

// newToolPipe makes a pipe for a tool's stdout: w goes to exec.Cmd.Stdout
// (and is closed by the caller once the tool started), r is read until EOF.
// ctx ends waits for a tool that stopped writing but whose pipe stays open
// (a stray child holding it): waitDelay after ctx is done, Read fails.
func newToolPipe(ctx context.Context) (r *toolPipe, w *os.File, err error) {
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil {
		return nil, nil, os.NewSyscallError("pipe2", err)
	}
	// The write end stays blocking: os.NewFile then leaves it out of the
	// netpoller, and exec hands it to the tool as it is.
	if err := syscall.SetNonblock(fds[0], true); err != nil {
		_ = syscall.Close(fds[0])
		_ = syscall.Close(fds[1])
		return nil, nil, os.NewSyscallError("setnonblock", err)
	}
	r = &toolPipe{fd: fds[0], ctx: ctx, sleep: time.Sleep, stray: waitDelay}
	r.paced = growPipe(fds[0]) >= pipeSize
	return r, os.NewFile(uintptr(fds[1]), "|1"), nil
}

// growPipe asks for a pipeSize pipe and returns the pipe's size; where the
// kernel refuses (an unprivileged user over fs.pipe-max-size or its pipe
// quota) the pipe keeps its size, and 0 is returned.
func growPipe(fd int) int {
	n, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), fSetPipeSz, pipeSize)
	if errno != 0 {
		return 0
	}
	return int(n)
}

func (p *toolPipe) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if p.short {
		p.short = false
		p.sleep(paceWait)
	}
	for {
		n, err := syscall.Read(p.fd, b)
		switch {
		case err == nil && n == 0:
			return 0, io.EOF
		case err == nil:
			p.short = p.paced && n < len(b) && n < paceSmall
			return n, nil
		case errors.Is(err, syscall.EINTR):
		case errors.Is(err, syscall.EAGAIN):
			if err := p.wait(); err != nil {
				return 0, err
			}
		default:
			return 0, os.NewSyscallError("read", err)
		}
	}
}

// wait blocks until the pipe has data or was closed by the tool, or a
// pollWait passed.
func (p *toolPipe) wait() error {
	if p.ctx.Err() != nil {
		// The tool's group was killed on cancellation: EOF is due. Only a
		// stray process still holding the pipe keeps it open.
		if p.gone.IsZero() {
			p.gone = time.Now()
		} else if time.Since(p.gone) > p.stray {
			return p.ctx.Err()
		}
	}
	fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}}
	if _, err := unix.Poll(fds, int(pollWait/time.Millisecond)); err != nil && !errors.Is(err, syscall.EINTR) {
		return os.NewSyscallError("poll", err)
	}
	return nil
}

// Close closes the read end; safe to call more than once.
func (p *toolPipe) Close() error {
	var err error
	p.once.Do(func() { err = syscall.Close(p.fd) })
	return err
}
