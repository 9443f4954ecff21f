package s3test

import (
	"io"
	"net"
	"net/http"
	"sync/atomic"
)

// PartFault is how an UploadPart request picked by FailPart or FailAllParts
// fails.
type PartFault int32

const (
	// InternalError answers 500 InternalError (the default).
	InternalError PartFault = iota
	// SlowDown answers 503 SlowDown, as a throttling server does.
	SlowDown
	// Reset reads CutAfter bytes of the part's body, then resets the TCP
	// connection (RST) without an answer, as a crashing server or a broken
	// network does in the middle of an upload.
	Reset
)

// Faults injects failures in front of an S3 server: as an http.Handler
// wrapper around gofakes3, or in the reverse proxy StartVersityWithFaults
// puts in front of versitygw, so the same faults hit both servers. Failed
// requests never reach the server. Safe for concurrent use.
type Faults struct {
	// Down drops every request's connection without an answer, as a server
	// that died would (the SDK sees a reset or EOF and retries).
	Down atomic.Bool
	// FailPart fails the UploadPart request with this sequence number
	// (1-based, counting every UploadPart request including retries); 0: none.
	FailPart atomic.Int64
	// FailAllParts fails every UploadPart request.
	FailAllParts atomic.Bool
	// Mode is how a picked part fails (a PartFault).
	Mode atomic.Int32
	// CutAfter is how many bytes of a part's body Reset reads before it
	// cuts the connection.
	CutAfter atomic.Int64

	parts  atomic.Int64
	failed atomic.Int64
}

// PartRequests is the number of UploadPart requests seen.
func (f *Faults) PartRequests() int64 { return f.parts.Load() }

// Failed is the number of requests failed on purpose.
func (f *Faults) Failed() int64 { return f.failed.Load() }

// Wrap returns h with the faults injected in front of it.
func (f *Faults) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.Down.Load() {
			f.failed.Add(1)
			reset(w)
			return
		}
		q := r.URL.Query()
		if r.Method != http.MethodPut || q.Get("uploadId") == "" || q.Get("partNumber") == "" {
			h.ServeHTTP(w, r)
			return
		}
		n := f.parts.Add(1)
		if !f.FailAllParts.Load() && f.FailPart.Load() != n {
			h.ServeHTTP(w, r)
			return
		}
		f.failed.Add(1)
		switch PartFault(f.Mode.Load()) {
		case Reset:
			_, _ = io.CopyN(io.Discard, r.Body, f.CutAfter.Load())
			reset(w)
		case SlowDown:
			_, _ = io.Copy(io.Discard, r.Body) // let the client finish sending
			answer(w, http.StatusServiceUnavailable, "SlowDown")
		default:
			_, _ = io.Copy(io.Discard, r.Body)
			answer(w, http.StatusInternalServerError, "InternalError")
		}
	})
}

func answer(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+
		`<Error><Code>`+code+`</Code><Message>injected fault</Message></Error>`)
}

// reset closes the client's connection with a TCP RST (linger 0), no answer.
func reset(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
