package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// problemTypeBase prefixes every problem type URI; docs/API.md lists them.
const problemTypeBase = "urn:invoiced:problem:"

// problem is an RFC 9457 problem details object.
type problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Field  string       `json:"field,omitempty"`
	Errors []FieldError `json:"errors,omitempty"`

	retryAfter time.Duration
}

// problemKinds maps each error kind to its status, type and title.
var problemKinds = []struct {
	err    error
	status int
	slug   string
	title  string
}{
	{ErrInvalid, http.StatusBadRequest, "invalid-request", "The request is invalid"},
	{ErrUnauthorized, http.StatusUnauthorized, "unauthorized", "An accepted API key is required"},
	{ErrNotFound, http.StatusNotFound, "not-found", "Not found"},
	{ErrRateLimited, http.StatusTooManyRequests, "rate-limited", "Too many requests"},
	{ErrMethodNotAllowed, http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed"},
	{ErrInFlight, http.StatusConflict, "request-in-flight", "A request with this Idempotency-Key is in flight"},
	{ErrConflict, http.StatusConflict, "conflict", "The request conflicts with the resource's state"},
	{ErrTooLarge, http.StatusRequestEntityTooLarge, "body-too-large", "Request body too large"},
	{ErrUnsupportedMediaType, http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type"},
	{ErrKeyReused, http.StatusUnprocessableEntity, "idempotency-key-reused", "Idempotency-Key reused with a different request"},
	{ErrWeakSecret, http.StatusUnprocessableEntity, "weak-secret", "The signing secret is too weak"},
	{ErrInsufficientStorage, http.StatusInsufficientStorage, "insufficient-storage", "Insufficient storage"},
	{ErrUnavailable, http.StatusServiceUnavailable, "unavailable", "Service unavailable"},
}

// publicDetail is what a client is told of a server-side failure.
var publicDetail = map[int]string{
	http.StatusServiceUnavailable:  "JetStream or the read model did not answer in time. Retry after Retry-After; a POST /invoices retried with the same Idempotency-Key creates the invoice or returns the one already stored, never a second.",
	http.StatusInsufficientStorage: "JetStream has no room to store this; nothing was stored. Retry after Retry-After, once room is made; a POST /invoices retried with the same Idempotency-Key creates the invoice once.",
}

// problemFor is the one place an error becomes an HTTP status: it returns
// the problem details for err, 500 for an error of no known kind.
func problemFor(err error) problem {
	p := problem{Type: problemTypeBase + "internal", Title: "Internal error", Status: http.StatusInternalServerError}
	for _, k := range problemKinds {
		if errors.Is(err, k.err) {
			p = problem{Type: problemTypeBase + k.slug, Title: k.title, Status: k.status, Detail: err.Error()}
			break
		}
	}
	var v *ValidationError
	if errors.As(err, &v) && len(v.Fields) > 0 {
		p.Field, p.Errors = v.Fields[0].Field, v.Fields
	}
	var r *retryError
	if errors.As(err, &r) {
		p.retryAfter = r.after
	}
	switch {
	case p.retryAfter > 0:
	case p.Status == http.StatusServiceUnavailable:
		p.retryAfter = time.Second
	case p.Status == http.StatusInsufficientStorage:
		p.retryAfter = storageRetryAfter
	}
	return p
}

// writeError answers with the problem for err. The cause goes to the
// request's log line; a server-side failure outside a logged request is
// logged here.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	p := problemFor(err)
	if !noteError(r.Context(), err) && p.Status >= 500 {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", p.Status, "err", err)
	}
	if p.Status >= 500 {
		p.Detail = publicDetail[p.Status] // the cause is logged, never shown
	}
	if p.retryAfter > 0 {
		secs := int((p.retryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	body, _ := json.Marshal(p)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_, _ = w.Write(append(body, '\n'))
}

// withErrors adapts a handler that returns an error: its context ends after
// timeout, and an error it returns is answered as a problem.
func withErrors(timeout time.Duration, log *slog.Logger, fn func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		if err := fn(w, r.WithContext(ctx)); err != nil {
			writeError(w, r, log, err)
		}
	}
}

// writeJSON answers with status and v encoded as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	writeBody(w, status, body)
}

// writeBody answers with status and an already encoded JSON body.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
