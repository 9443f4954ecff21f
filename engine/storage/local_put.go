package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Put writes r to a temp file beside the target, fsyncs it, renames it into
// place and fsyncs the directory. On any error the temp file is removed.
func (l *Local) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	p, err := l.path(key)
	if err != nil {
		return 0, err
	}
	dir := filepath.Dir(p)
	if err := mkdirAllSync(dir); err != nil {
		return 0, l.fsErr("put", key, err)
	}
	f, err := l.createTemp(dir, "."+filepath.Base(p)+".tmp-*")
	if err != nil {
		return 0, l.fsErr("put", key, err)
	}
	tmp := f.Name()
	l.track(tmp, true)
	defer l.track(tmp, false)

	n, err := writeSynced(ctx, f, r)
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		_ = os.Remove(tmp) // the object must not appear half-written
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errRead) {
			return 0, fmt.Errorf("local put %q: %w", key, err)
		}
		return 0, l.fsErr("put", key, err)
	}
	return n, nil
}

func (l *Local) track(tmp string, on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if on {
		l.inFlight[tmp] = struct{}{}
	} else {
		delete(l.inFlight, tmp)
	}
}

// errRead marks failures of the caller's reader, so they are not reported as
// storage failures.
var errRead = errors.New("read input")

// writeSynced copies r into f, fsyncs and closes it, and checks the size.
func writeSynced(ctx context.Context, f tempFile, r io.Reader) (int64, error) {
	n, err := io.CopyBuffer(onlyWriter{f}, ctxReader{ctx: ctx, r: r}, make([]byte, 256<<10))
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		var fi os.FileInfo
		if fi, err = f.Stat(); err == nil && fi.Size() != n {
			err = fmt.Errorf("wrote %d bytes but the file has %d", n, fi.Size())
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// onlyWriter hides ReadFrom so io.Copy sees every read error through ctxReader.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }

// ctxReader stops a copy once ctx is done and marks reader errors.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: %w", errRead, err)
	}
	return n, err
}

// mkdirAllSync creates dir and its missing parents, fsyncing each parent
// whose entries changed so the new directories survive a crash.
func mkdirAllSync(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s: %w", dir, errNotDir)
		}
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAllSync(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}
