package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Defaults of the settle check that a plan which prunes must pass.
const (
	defaultSettleWindow = time.Second
	defaultSettleMax    = 30 * time.Second
)

// errUnsettled stops the apply of a plan that prunes records until the file
// has been stable for the settle window: a file written in place (cat >,
// scp, some sync tools) can be read half-written, and a half file plans
// prunes of everything after the cut.
var errUnsettled = errors.New("the plan prunes records and the file has not been stable for the settle window")

// fileState is what one read of the config file saw.
type fileState struct {
	readable bool
	size     int64
	mtime    time.Time
	digest   string
}

func (a fileState) same(b fileState) bool {
	return a.readable == b.readable && a.size == b.size && a.mtime.Equal(b.mtime) && a.digest == b.digest
}

// readFile reads the file and what its stat says about it, from one open file.
func readFile(path string) ([]byte, fileState, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileState{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fileState{}, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fileState{}, err
	}
	return data, fileState{readable: true, size: fi.Size(), mtime: fi.ModTime(), digest: fileDigest(data)}, nil
}

// unwrittenFor reports whether the file read as fs has not been written for the
// settle window: its mtime moves with every write, so a file last written
// that long ago is stable without waiting. A file written in place is
// written now, and waits.
func (r *Reconciler) unwrittenFor(fs fileState, now time.Time) bool {
	return fs.readable && !fs.mtime.After(now) && now.Sub(fs.mtime) >= r.opts.SettleWindow
}

// settle polls the file until it has kept the same size, mtime and digest
// for the settle window, and returns that state. It gives up at deadline
// (a file rewritten without end) or when ctx ends. It holds no lock: status
// and other readers are not kept waiting.
func (r *Reconciler) settle(ctx context.Context, deadline time.Time) (fileState, error) {
	window := r.opts.SettleWindow
	poll := max(window/10, 5*time.Millisecond)
	t := time.NewTicker(poll)
	defer t.Stop()
	observe := func() fileState {
		_, fs, _ := readFile(r.opts.Path) // an unreadable file is a state too
		return fs
	}
	cur := observe()
	since := time.Now()
	if cur.readable && cur.mtime.Before(since) {
		since = cur.mtime // unwritten since then: stable for that long already
	}
	for {
		select {
		case <-ctx.Done():
			return fileState{}, fmt.Errorf("waiting for %s to be stable: %w", r.opts.Path, ctx.Err())
		case <-t.C:
		}
		now := time.Now()
		if fs := observe(); !fs.same(cur) {
			cur, since = fs, now
		} else if now.Sub(since) >= window {
			return cur, nil
		}
		if now.After(deadline) {
			return fileState{}, fmt.Errorf("%s kept changing for %s; a plan that prunes records is applied only once the file has been stable for %s (keeping the last good config)",
				r.opts.Path, r.opts.SettleMax, window)
		}
	}
}
