package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// attemptFunc performs one delivery try. It returns nil, an *attemptError, or
// any other error (treated as permanent).
type attemptFunc func(ctx context.Context) error

// attemptError classifies a failed try. msg is built by this package from
// status codes, remote descriptions and unwrapped network errors; it is
// scrubbed again before it leaves the package.
type attemptError struct {
	msg        string
	retry      bool
	retryAfter time.Duration // > 0: the server asked for this wait
}

func (e *attemptError) Error() string { return e.msg }

func permanent(format string, args ...any) error {
	return &attemptError{msg: fmt.Sprintf(format, args...)}
}

func transient(format string, args ...any) error {
	return &attemptError{msg: fmt.Sprintf(format, args...), retry: true}
}

// retry runs do up to maxAttempts times. Every error it returns is a fresh
// error carrying only scrubbed text (wrapping ctx.Err() when ctx ended), so
// no caller can reach a raw net/http error and the URL inside it.
func (n *Notifier) retry(ctx context.Context, t Target, red redactor, do attemptFunc) error {
	for attempt := 1; ; attempt++ {
		if err := ctxDone(ctx); err != nil {
			return fmt.Errorf("not sent: %w", err)
		}
		err := do(ctx)
		if err == nil {
			if attempt > 1 {
				n.log.Info("notification sent after retry", "target", t.Name, "type", t.Type, "attempt", attempt)
			}
			return nil
		}
		msg := red.scrub(err.Error())
		var ae *attemptError
		retryable := errors.As(err, &ae) && ae.retry
		last := attempt >= n.maxAttempts
		n.log.Warn("notification attempt failed", "target", t.Name, "type", t.Type,
			"attempt", attempt, "max_attempts", n.maxAttempts, "retry", retryable && !last, "error", msg)
		if cerr := ctxDone(ctx); cerr != nil {
			return fmt.Errorf("%s: %w", msg, cerr)
		}
		if !retryable {
			return errors.New(msg)
		}
		if last {
			return fmt.Errorf("giving up after %d attempts: %s", attempt, msg)
		}
		wait := n.backoff(attempt)
		if ae.retryAfter > 0 {
			wait = min(ae.retryAfter, n.maxRetryAfter)
		}
		if err := n.sleep(ctx, wait); err != nil {
			return fmt.Errorf("%s: retry wait: %w", msg, err)
		}
	}
}

// ctxDone is ctx.Err(), but also reports a deadline that has passed before
// the context's own timer marked it (a socket deadline fires first).
func ctxDone(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date.
// It returns 0 when absent, malformed or in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		if d := at.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
