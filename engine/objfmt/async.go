package objfmt

import "io"

// Buffering between the dump tool and the compressor: the tool's pipe is
// drained into these chunks while the compressor works on earlier ones, so
// the tool (and the database session feeding it) rarely waits on us.
const (
	asyncChunk  = 1 << 20
	asyncChunks = 4
)

// asyncWriter hands data to w from a goroutine of its own. Write copies into
// one of a few fixed chunks (bounded memory) and returns; the first error of
// w is returned by every later Write and by Close.
type asyncWriter struct {
	w      io.Writer
	cur    []byte
	free   chan []byte
	full   chan []byte
	failed chan struct{} // closed on w's first error
	done   chan struct{} // closed when the drainer has exited
	err    error         // w's first error; read after failed or done is closed
	closed bool
}

func newAsyncWriter(w io.Writer) *asyncWriter { return newAsyncWriterSize(w, asyncChunk, asyncChunks) }

// newAsyncWriterSize is an asyncWriter with chunks of size bytes.
func newAsyncWriterSize(w io.Writer, size, chunks int) *asyncWriter {
	a := &asyncWriter{w: w, free: make(chan []byte, chunks), full: make(chan []byte, chunks),
		failed: make(chan struct{}), done: make(chan struct{})}
	for range chunks {
		a.free <- make([]byte, 0, size)
	}
	go a.drain()
	return a
}

func (a *asyncWriter) drain() {
	defer close(a.done)
	for b := range a.full {
		if a.err == nil {
			if _, err := a.w.Write(b); err != nil {
				a.err = err
				close(a.failed)
			}
		}
		a.free <- b[:0]
	}
}

func (a *asyncWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if a.cur == nil {
			select {
			case a.cur = <-a.free:
			case <-a.failed:
				return n, a.err
			}
		}
		c := copy(a.cur[len(a.cur):cap(a.cur)], p)
		a.cur = a.cur[:len(a.cur)+c]
		n, p = n+c, p[c:]
		if len(a.cur) == cap(a.cur) {
			if err := a.send(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// ReadFrom reads r straight into the chunks until EOF: the dump tool's pipe
// is read into the buffers the compressor takes, without Write's copy. What
// it read stays buffered, as after Write, until a chunk is full or Close.
func (a *asyncWriter) ReadFrom(r io.Reader) (int64, error) {
	var n int64
	for {
		if a.cur == nil {
			select {
			case a.cur = <-a.free:
			case <-a.failed:
				return n, a.err
			}
		}
		m, err := r.Read(a.cur[len(a.cur):cap(a.cur)])
		a.cur = a.cur[:len(a.cur)+m]
		n += int64(m)
		if len(a.cur) == cap(a.cur) {
			if serr := a.send(); serr != nil {
				return n, serr
			}
		}
		if err == io.EOF { // exactly io.EOF, as io.Copy: a wrapped one is a failure
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// send queues the current chunk.
func (a *asyncWriter) send() error {
	select {
	case a.full <- a.cur:
		a.cur = nil
		return nil
	case <-a.failed:
		return a.err
	}
}

// Close writes what is buffered, waits for it and returns w's first error.
// It does not close w; calling it again returns the same result.
func (a *asyncWriter) Close() error {
	if !a.closed {
		a.closed = true
		if len(a.cur) > 0 {
			_ = a.send()
		}
		close(a.full)
	}
	<-a.done
	return a.err
}
