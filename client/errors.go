package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ProblemType names a kind of failure the service reports: the "type" of
// its RFC 9457 problem answers. A ProblemType is an error, so that
//
//	errors.Is(err, client.ErrNotFound)
//
// reports whether err is an *Error of that type.
type ProblemType string

// Error returns the problem type's URI.
func (t ProblemType) Error() string { return string(t) }

// The problem types the service answers with (docs/API.md, "Problem types").
const (
	// ErrInvalidRequest: the request is malformed or breaks a rule (400);
	// Error.Field and Error.Errors name the fields at fault.
	ErrInvalidRequest ProblemType = "urn:invoiced:problem:invalid-request"
	// ErrUnauthorized: no accepted API key was sent (401).
	ErrUnauthorized ProblemType = "urn:invoiced:problem:unauthorized"
	// ErrNotFound: no such resource, or one of another account (404).
	ErrNotFound ProblemType = "urn:invoiced:problem:not-found"
	// ErrMethodNotAllowed: the path does not answer the method (405).
	ErrMethodNotAllowed ProblemType = "urn:invoiced:problem:method-not-allowed"
	// ErrRequestInFlight: the first request with this Idempotency-Key is
	// still being stored (409). The client retries it.
	ErrRequestInFlight ProblemType = "urn:invoiced:problem:request-in-flight"
	// ErrConflict: the resource's state forbids the request (409), such as
	// a test event or a recovery for a disabled subscription.
	ErrConflict ProblemType = "urn:invoiced:problem:conflict"
	// ErrBodyTooLarge: the request body is over 64 KiB (413).
	ErrBodyTooLarge ProblemType = "urn:invoiced:problem:body-too-large"
	// ErrUnsupportedMediaType: the body was not sent as JSON (415).
	ErrUnsupportedMediaType ProblemType = "urn:invoiced:problem:unsupported-media-type"
	// ErrIdempotencyKeyReused: the Idempotency-Key was used for a
	// different request (422); nothing changed.
	ErrIdempotencyKeyReused ProblemType = "urn:invoiced:problem:idempotency-key-reused"
	// ErrRateLimited: the API key is over its rate limit (429). The client
	// retries it after Retry-After.
	ErrRateLimited ProblemType = "urn:invoiced:problem:rate-limited"
	// ErrUnavailable: the service could not confirm in time (503). The
	// client retries it after Retry-After where repeating is safe.
	ErrUnavailable ProblemType = "urn:invoiced:problem:unavailable"
	// ErrInternal: a bug in the service (500); its logs hold the cause.
	ErrInternal ProblemType = "urn:invoiced:problem:internal"
	// ErrWeakSecret: a signing secret given at creation is well formed but
	// shorter than 24 bytes (422).
	ErrWeakSecret ProblemType = "urn:invoiced:problem:weak-secret"
	// ErrInsufficientStorage: the service's store is full and nothing was
	// stored (507); the same request succeeds once there is room, after
	// Retry-After.
	ErrInsufficientStorage ProblemType = "urn:invoiced:problem:insufficient-storage"
)

// FieldError names one offending field of a request and what is wrong.
type FieldError struct {
	// Field is a body field path such as "metadata.plan", a query
	// parameter or "Idempotency-Key".
	Field string `json:"field"`
	// Detail says what is wrong with it.
	Detail string `json:"detail"`
}

// Error is an error answer of the service. Every call returns one, as is,
// for an answer other than 2xx; use errors.As to get at it, or errors.Is
// with a ProblemType to test its kind.
type Error struct {
	// Status is the HTTP status of the answer.
	Status int
	// Type is the problem type; empty when the answer was not a problem
	// (a proxy's error page, say).
	Type ProblemType
	// Title sums up the problem type; for an answer that was not a
	// problem, the status text.
	Title string
	// Detail says what went wrong with this request. For an answer that
	// was not a problem, it holds the start of the body.
	Detail string
	// Field is the first offending field of a 400, the same as
	// Errors[0].Field.
	Field string
	// Errors lists every offending field of a 400.
	Errors []FieldError
	// RequestID is the answer's X-Request-ID: quote it to the service's
	// operators, whose logs name it.
	RequestID string
	// RetryAfter is the wait the answer asked for with Retry-After; 0 when
	// it asked for none.
	RetryAfter time.Duration
}

// Error returns the status, the title, the detail, the offending fields and
// the request ID in one line.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invoiced: %d", e.Status)
	if e.Title != "" {
		b.WriteString(" " + e.Title)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if len(e.Errors) > 0 && !strings.Contains(e.Detail, e.Errors[0].Detail) {
		parts := make([]string, len(e.Errors))
		for i, f := range e.Errors {
			parts[i] = f.Field + ": " + f.Detail
		}
		b.WriteString(" (" + strings.Join(parts, "; ") + ")")
	}
	if e.RequestID != "" {
		b.WriteString(" [request " + e.RequestID + "]")
	}
	return b.String()
}

// Is reports whether target is e's problem type, so that errors.Is(err,
// ErrNotFound) holds for a 404 problem.
func (e *Error) Is(target error) bool {
	t, ok := target.(ProblemType)
	return ok && e.Type != "" && e.Type == t
}

// maxErrorBody is how much of an error answer is read.
const maxErrorBody = 64 << 10

// maxDetail is how much of a body that is not a problem goes into Detail.
const maxDetail = 200

// problemBody is the wire form of a problem answer.
type problemBody struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Detail string       `json:"detail"`
	Field  string       `json:"field"`
	Errors []FieldError `json:"errors"`
}

// decodeError returns the *Error for an answer of status with header and
// body. A body that is not a problem still gives an *Error with the status,
// the status text and the start of the body; it never fails.
func decodeError(status int, header http.Header, body []byte) *Error {
	e := &Error{
		Status:     status,
		RequestID:  header.Get("X-Request-ID"),
		RetryAfter: parseRetryAfter(header.Get("Retry-After"), time.Now()),
	}
	var p problemBody
	if json.Unmarshal(body, &p) == nil && p.Type != "" {
		e.Type, e.Title, e.Detail, e.Field = ProblemType(p.Type), p.Title, p.Detail, p.Field
		e.Errors = p.Errors
		if e.Field == "" && len(e.Errors) > 0 {
			e.Field = e.Errors[0].Field
		}
		return e
	}
	e.Title = http.StatusText(status)
	e.Detail = snippet(body)
	return e
}

// snippet returns the start of body as one line of printable text, at
// most maxDetail bytes long.
func snippet(body []byte) string {
	body = body[:min(len(body), 4*maxDetail)]
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(body), "\uFFFD"))
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxDetail {
		cut := maxDetail
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}
