package objfmt

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
)

// One pass, N uploads. The stored bytes (after encryption) are written to
// every destination: each one's storage.Put reads its own pipe, fed from a
// small queue of its own, so the destinations upload concurrently while the
// pipeline runs once. The queues bound the memory (fanChunks × fanChunk
// per destination; no temp file, no whole-object buffer); a full queue
// blocks the stream, so the slowest destination sets the pace. A
// destination other than the primary that fails is cut off: its pipe is
// closed with the error (its Put removes what it had) and the stream goes
// on to the others. The primary failing fails the stream, as with a single
// destination, which skips the queue and writes straight into its pipe.

// Queue of each destination when there are several.
const (
	fanChunk  = 256 << 10
	fanChunks = 4
)

// sink is one destination of a fan-out.
type sink struct {
	pw   *io.PipeWriter
	q    *asyncWriter  // nil with a single destination
	buf  *bufio.Writer // a single destination's batching (storeBatch)
	w    io.Writer     // q, or buf
	cut  error         // why the stream stopped writing to it
	done chan PutResult
}

// fanout writes the stream to every sink not cut off.
type fanout struct {
	sinks  []*sink
	res    []PutResult
	waited bool
}

func startFanout(ctx context.Context, dests []Dest) *fanout {
	f := &fanout{}
	for _, d := range dests {
		pr, pw := io.Pipe()
		s := &sink{pw: pw, done: make(chan PutResult, 1)}
		s.buf = bufio.NewWriterSize(pw, storeBatch)
		s.w = s.buf
		if len(dests) > 1 {
			s.buf = nil
			s.q = newAsyncWriterSize(pw, fanChunk, fanChunks)
			s.w = s.q
		}
		// Storage reads from the start: the encrypter writes its header at once.
		go func() {
			n, err := d.Store.Put(ctx, d.Key, pr)
			if err == nil {
				err = errors.New("storage finished before the stream ended")
				if _, rerr := pr.Read(make([]byte, 1)); rerr == io.EOF {
					err = nil
				}
			}
			pr.CloseWithError(err)
			s.done <- PutResult{n, err}
		}()
		f.sinks = append(f.sinks, s)
	}
	return f
}

// Write hands p to every live destination. Only the primary's error is
// returned; another destination's error cuts it off.
func (f *fanout) Write(p []byte) (int, error) {
	for i, s := range f.sinks {
		if s.cut != nil {
			continue
		}
		if _, err := s.w.Write(p); err != nil {
			if i == 0 {
				return 0, err
			}
			f.cutOff(s, err)
		}
	}
	return len(p), nil
}

func (f *fanout) cutOff(s *sink, err error) {
	s.cut = err
	s.pw.CloseWithError(err)
}

// finish ends the stream on every destination and waits for each to
// acknowledge total bytes.
func (f *fanout) finish(total int64) []PutResult {
	for i, s := range f.sinks {
		if s.buf != nil && s.cut == nil {
			// A failed flush shows in the Put's result: its reader failed.
			_ = s.buf.Flush()
		}
		if s.q != nil && s.cut == nil {
			if err := s.q.Close(); err != nil && i > 0 {
				f.cutOff(s, err)
			}
		}
		s.pw.Close() // after a cut or a failed Put this changes nothing
	}
	res := f.wait()
	for i := range res {
		if res[i].Err == nil && res[i].N != total {
			res[i].Err = fmt.Errorf("storage acknowledged %d bytes, %d were sent", res[i].N, total)
		}
	}
	return res
}

// abort ends every destination's stream with err; it is safe while a Write
// is running (wait, called after the writer stopped, collects the results).
func (f *fanout) abort(err error) {
	for _, s := range f.sinks {
		s.pw.CloseWithError(err)
	}
}

// wait collects every destination's result once the writer has stopped.
func (f *fanout) wait() []PutResult {
	if f.waited {
		return f.res
	}
	f.waited = true
	f.res = make([]PutResult, len(f.sinks))
	for i, s := range f.sinks {
		if s.q != nil {
			_ = s.q.Close()
		}
		f.res[i] = <-s.done
		if f.res[i].Err == nil && s.cut != nil {
			f.res[i].Err = s.cut
		}
	}
	return f.res
}

func (f *fanout) results() []PutResult { return f.res }
