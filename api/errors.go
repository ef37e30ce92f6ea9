package api

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/invoiced/invoiced/internal/infra/jserr"
)

// The kinds of failure the API reports. Every error a handler returns wraps
// one of them; problemFor maps each to its HTTP status.
var (
	// ErrInvalid: the request is malformed or breaks a rule (400).
	ErrInvalid = errors.New("invalid request")
	// ErrUnauthorized: no accepted API key (401).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrRateLimited: the caller is over its rate limit (429).
	ErrRateLimited = errors.New("rate limited")
	// ErrNotFound: no such resource (404).
	ErrNotFound = errors.New("not found")
	// ErrMethodNotAllowed: the resource exists but not with this method (405).
	ErrMethodNotAllowed = errors.New("method not allowed")
	// ErrInFlight: the first request with this idempotency key has not
	// finished yet (409).
	ErrInFlight = errors.New("request with this idempotency key in flight")
	// ErrConflict: the resource's state does not allow the request (409).
	ErrConflict = errors.New("conflict")
	// ErrTooLarge: the request body is over the limit (413).
	ErrTooLarge = errors.New("request body too large")
	// ErrUnsupportedMediaType: the body is not JSON (415).
	ErrUnsupportedMediaType = errors.New("unsupported media type")
	// ErrKeyReused: the idempotency key was used for a different request (422).
	ErrKeyReused = errors.New("idempotency key reused with a different request")
	// ErrWeakSecret: a signing secret given with the request is well
	// formed but too short to be safe (422).
	ErrWeakSecret = errors.New("signing secret too weak")
	// ErrUnavailable: JetStream cannot be reached in time; retry (503).
	ErrUnavailable = errors.New("service unavailable")
	// ErrInsufficientStorage: JetStream refused the write for want of
	// room; nothing was stored (507).
	ErrInsufficientStorage = errors.New("insufficient storage")
)

// storageRetryAfter is how long a client is asked to wait before it
// repeats a write JetStream had no room for: long enough for compaction
// (every 5 s) to free what it can, or an operator to act.
const storageRetryAfter = 30 * time.Second

// unavailable wraps err, the failure of a JetStream or read model
// operation described by what: as ErrInsufficientStorage when JetStream
// refused a write for want of room, else as ErrUnavailable.
func unavailable(what string, err error) error {
	if jserr.IsInsufficientStorage(err) {
		return withRetryAfter(fmt.Errorf("%w: %s: %w", ErrInsufficientStorage, what, err), storageRetryAfter)
	}
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, what, err)
}

// FieldError names one offending field and what is wrong with it.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// ValidationError lists every field of a request that breaks a rule. It
// matches ErrInvalid.
type ValidationError struct {
	Fields []FieldError
}

// Error returns the fields' problems joined.
func (v *ValidationError) Error() string {
	parts := make([]string, len(v.Fields))
	for i, f := range v.Fields {
		parts[i] = f.Field + ": " + f.Detail
	}
	return strings.Join(parts, "; ")
}

// Is makes a ValidationError match ErrInvalid.
func (v *ValidationError) Is(target error) bool { return target == ErrInvalid }

func (v *ValidationError) add(field, format string, args ...any) {
	v.Fields = append(v.Fields, FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
}

// orNil returns v when it holds a problem, else nil.
func (v *ValidationError) orNil() error {
	if len(v.Fields) == 0 {
		return nil
	}
	return v
}

// invalidField returns a ValidationError about one field.
func invalidField(field, format string, args ...any) error {
	v := &ValidationError{}
	v.add(field, format, args...)
	return v
}

// retryError asks the client to retry after a delay; it wraps the kind.
type retryError struct {
	err   error
	after time.Duration
}

func (r *retryError) Error() string { return r.err.Error() }
func (r *retryError) Unwrap() error { return r.err }

// withRetryAfter attaches a Retry-After delay to err.
func withRetryAfter(err error, after time.Duration) error {
	return &retryError{err: err, after: after}
}
