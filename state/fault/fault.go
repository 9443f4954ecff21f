// Package fault is Jagad's application error model: an error with a code
// (invalid, not_found, conflict, ...). It sits on the bottom floor so that
// every layer (state, reconcile, engine) can classify its failures; package
// api alone maps the codes to HTTP statuses, in one place.
package fault

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies an error.
type Code string

// Error codes.
const (
	CodeInvalid         Code = "invalid"
	CodeNotFound        Code = "not_found"
	CodeConflict        Code = "conflict"
	CodeUnauthorized    Code = "unauthorized"
	CodeForbidden       Code = "forbidden"
	CodeTooLarge        Code = "too_large"
	CodeTooManyRequests Code = "too_many_requests"
	CodeUnavailable     Code = "unavailable"
	CodeUpstream        Code = "upstream" // a server Jagad talks to failed (502)
	CodeInternal        Code = "internal"

	// CodeInsufficientStorage: the server cannot store what the request
	// writes (its data dir is full) but serves reads (507).
	CodeInsufficientStorage Code = "insufficient_storage"
)

// Error is a classified error. Message is shown to API clients, so it must
// never contain secrets; Err (optional) is the cause, kept for errors.Is/As.
type Error struct {
	Code       Code
	Message    string
	RetryAfter time.Duration // too_many_requests / unavailable: a hint for Retry-After
	Err        error
}

// Error returns the client-facing message.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an error with code and message.
func New(code Code, msg string) error { return &Error{Code: code, Message: msg} }

// Errorf returns an error with code and a formatted message.
func Errorf(code Code, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap classifies cause under code with a client-facing message.
func Wrap(code Code, msg string, cause error) error {
	return &Error{Code: code, Message: msg, Err: cause}
}

// Invalid is a bad request (400).
func Invalid(msg string) error { return New(CodeInvalid, msg) }

// NotFound is a missing resource (404).
func NotFound(msg string) error { return New(CodeNotFound, msg) }

// Conflict is a request that clashes with the current state (409).
func Conflict(msg string) error { return New(CodeConflict, msg) }

// Unauthorized is a missing or invalid session (401).
func Unauthorized(msg string) error { return New(CodeUnauthorized, msg) }

// Forbidden is an authenticated request that is not allowed (403).
func Forbidden(msg string) error { return New(CodeForbidden, msg) }

// Unavailable is a dependency that is not ready (503).
func Unavailable(msg string) error { return New(CodeUnavailable, msg) }

// Upstream is a failure of a server Jagad talks to (502).
func Upstream(msg string) error { return New(CodeUpstream, msg) }

// TooManyRequests is a throttled request (429) with a retry hint.
func TooManyRequests(msg string, retryAfter time.Duration) error {
	return &Error{Code: CodeTooManyRequests, Message: msg, RetryAfter: retryAfter}
}

// As returns the classified error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// CodeOf returns err's code: "" for nil, internal for unclassified errors.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	if e, ok := As(err); ok {
		return e.Code
	}
	return CodeInternal
}
