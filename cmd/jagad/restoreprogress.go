package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/jagad/jagad/cmd/jagad/internal/bar"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/storage"
)

// restoreProgress is the store `jagad restore` reads through: every read of
// the backup object (once to verify, once to restore; once with
// --single-pass) gets a progress bar on stdout, drawn only when stdout is a
// terminal. Its log writer clears the bar's line before each log line, so
// the restore log (stderr) and the bar do not share a line.
type restoreProgress struct {
	storage.Store
	stdout io.Writer
	tty    bool
	log    io.Writer
	labels []string

	mu     sync.Mutex
	stores int // fallbacks wrapped
	last   int // the store of the last object read: 0 the primary, i the i-th fallback
	pass   int
	cur    *bar.Bar // the bar of the object being read, or nil
}

func newRestoreProgress(st storage.Store, stdout, stderr io.Writer, singlePass bool) *restoreProgress {
	p := &restoreProgress{Store: st, stdout: stdout, tty: bar.IsTerminal(stdout), labels: []string{"verify ", "restore"}}
	if singlePass {
		p.labels = []string{"restore"}
	}
	p.log = clearingWriter{p: p, w: stderr}
	return p
}

// Get opens key; the backup object (not its manifest) counts into a new bar.
func (p *restoreProgress) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	return p.get(ctx, p.Store, 0, key)
}

// wrap returns st (a --fallback-storage destination) read through p's bars.
func (p *restoreProgress) wrap(st storage.Store) storage.Store {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stores++
	return &progressStore{Store: st, p: p, n: p.stores}
}

// progressStore is a further destination read through a restoreProgress.
type progressStore struct {
	storage.Store
	p *restoreProgress
	n int
}

func (s *progressStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	return s.p.get(ctx, s.Store, s.n, key)
}

// get opens key on st; reads of another store than the last one start
// over at the first pass's label (a fallback is verified, then restored).
func (p *restoreProgress) get(ctx context.Context, st storage.Store, n int, key string) (io.ReadCloser, error) {
	rc, err := st.Get(ctx, key)
	if err != nil || strings.HasSuffix(key, objfmt.ManifestSuffix) {
		return rc, err
	}
	var total int64
	if info, err := st.Stat(ctx, key); err == nil {
		total = info.Size
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last != n {
		p.pass = 0
	}
	p.last = n
	label := fmt.Sprintf("pass %d", p.pass+1)
	if p.pass < len(p.labels) {
		label = p.labels[p.pass]
	}
	p.pass++
	p.finishLocked()
	p.cur = bar.New(p.stdout, label, total)
	return &barReader{ReadCloser: rc, bar: p.cur, p: p}, nil
}

// finish ends the bar still drawn, if any.
func (p *restoreProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finishLocked()
}

func (p *restoreProgress) finishLocked() {
	if p.cur != nil {
		p.cur.Finish()
		p.cur = nil
	}
}

// barReader counts what is read into its bar and ends the bar on Close.
type barReader struct {
	io.ReadCloser
	bar *bar.Bar
	p   *restoreProgress
}

func (r *barReader) Read(b []byte) (int, error) {
	n, err := r.ReadCloser.Read(b)
	r.bar.Add(int64(n))
	return n, err
}

func (r *barReader) Close() error {
	r.p.mu.Lock()
	if r.p.cur == r.bar {
		r.p.finishLocked()
	}
	r.p.mu.Unlock()
	return r.ReadCloser.Close()
}

// clearingWriter writes log lines to w after clearing the line of a bar
// being drawn on the terminal; the bar redraws below on its next update.
type clearingWriter struct {
	p *restoreProgress
	w io.Writer
}

func (c clearingWriter) Write(b []byte) (int, error) {
	c.p.mu.Lock()
	if c.p.tty && c.p.cur != nil {
		io.WriteString(c.p.stdout, "\r\x1b[K")
	}
	c.p.mu.Unlock()
	return c.w.Write(b)
}
