package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// httpShutdownTimeout is how long requests may take to finish on shutdown
// before their contexts are cancelled and their connections dropped.
const httpShutdownTimeout = 10 * time.Second

// handlerDrainTimeout bounds the wait for handlers to return after their
// contexts were cancelled. One still running then is logged and left to the
// store, which refuses transactions once closed.
const handlerDrainTimeout = 10 * time.Second

// httpSide is the daemon's HTTP server with what shutdown needs: every
// request's context derives from base, and running counts the handlers.
type httpSide struct {
	srv     *http.Server
	cancel  context.CancelFunc // ends base: every request's context
	running handlerCount
	timeout time.Duration // 0: httpShutdownTimeout
}

// newHTTPSide builds the server around h. Its requests' contexts end when
// stop gives up waiting for them.
func newHTTPSide(h http.Handler, timeout time.Duration) *httpSide {
	base, cancel := context.WithCancel(context.Background())
	s := &httpSide{cancel: cancel, timeout: timeout}
	s.srv = &http.Server{
		Handler:           s.running.wrap(h),
		BaseContext:       func(net.Listener) context.Context { return base },
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	return s
}

// stop ends the HTTP side: stop accepting and let running requests finish
// until the timeout, then cancel their contexts (long downloads and streams
// end), drop the connections, and wait for the handlers to return. After
// stop no handler uses the engine or the store.
func (s *httpSide) stop(log *slog.Logger) {
	timeout := s.timeout
	if timeout <= 0 {
		timeout = httpShutdownTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		log.Warn("http shutdown: cancelling the requests still running", "err", err, "running", s.running.count())
		s.cancel()
		if err := s.srv.Close(); err != nil {
			log.Warn("http close", "err", err)
		}
	}
	s.cancel()
	// Shutdown does not wait for hijacked connections; the count does.
	drain, cancelDrain := context.WithTimeout(context.Background(), handlerDrainTimeout)
	defer cancelDrain()
	if err := s.running.wait(drain); err != nil {
		log.Error("http shutdown: handlers still running", "running", s.running.count())
	}
}

// handlerCount counts the handlers running so shutdown can wait for them.
type handlerCount struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0; nil unless someone waits
}

func (c *handlerCount) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.add(1)
		defer c.add(-1)
		h.ServeHTTP(w, r)
	})
}

func (c *handlerCount) add(d int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n += d
	if c.n == 0 && c.idle != nil {
		close(c.idle)
		c.idle = nil
	}
}

func (c *handlerCount) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// wait returns when no handler runs, or ctx's error when it ends first.
func (c *handlerCount) wait(ctx context.Context) error {
	c.mu.Lock()
	if c.n == 0 {
		c.mu.Unlock()
		return nil
	}
	if c.idle == nil {
		c.idle = make(chan struct{})
	}
	idle := c.idle
	c.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
