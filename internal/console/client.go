package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"
)

// apiClient calls the service's HTTP API in process, as a client would
// over the network: with the session's API key, through the API's own
// authentication, validation and problem answers.
type apiClient struct{ handler http.Handler }

// caller is whom one browser request calls the API as.
type caller struct {
	key       string // the session's API key; "" when the service has none
	requestID string // names the console's calls in the API's log
	remote    string // the browser's address, for the API's log
}

// problem is an RFC 9457 problem answer of the API.
type problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail"`
	Errors []fieldError `json:"errors"`
}

// fieldError is one field the API found at fault.
type fieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// apiError is an answer of the API other than a success.
type apiError struct {
	Status  int
	Problem problem
}

// Error returns the problem's title and detail.
func (e *apiError) Error() string {
	return fmt.Sprintf("API answered %d: %s: %s", e.Status, e.Problem.Title, e.Problem.Detail)
}

// get reads path with query into out.
func (a *apiClient) get(ctx context.Context, who caller, path string, query url.Values, out any) error {
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	return a.do(ctx, who, http.MethodGet, path, nil, out)
}

// do sends method to path with in as its JSON body (none when nil) and
// decodes a success into out (ignored when nil). Any other answer is an
// *apiError.
func (a *apiClient) do(ctx context.Context, who caller, method, path string, in, out any) error {
	body := io.Reader(http.NoBody)
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(data)
	}
	// The API routes with a routing context of its own, not the console's.
	ctx = context.WithValue(ctx, chi.RouteCtxKey, nil)
	req, err := http.NewRequestWithContext(ctx, method, path, body)
	if err != nil {
		return fmt.Errorf("build %s %s: %w", method, path, err)
	}
	req.RemoteAddr = who.remote
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if who.key != "" {
		req.Header.Set("Authorization", "Bearer "+who.key)
	}
	if who.requestID != "" {
		req.Header.Set("X-Request-ID", who.requestID)
	}
	rec := &recorder{header: http.Header{}}
	a.handler.ServeHTTP(rec, req)
	return decodeAnswer(rec, method, path, out)
}

// decodeAnswer turns a recorded answer into out or an *apiError.
func decodeAnswer(rec *recorder, method, path string, out any) error {
	status := rec.code()
	if status < 200 || status > 299 {
		e := &apiError{Status: status}
		if err := json.Unmarshal(rec.body.Bytes(), &e.Problem); err != nil || e.Problem.Title == "" {
			e.Problem = problem{Title: http.StatusText(status), Status: status}
		}
		return e
	}
	if out == nil || rec.body.Len() == 0 {
		return nil
	}
	if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
		return fmt.Errorf("decode %s %s: %w", method, strings.SplitN(path, "?", 2)[0], err)
	}
	return nil
}

// recorder keeps what a handler answers in memory.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// Header returns the answer's headers.
func (r *recorder) Header() http.Header { return r.header }

// WriteHeader records the first status written.
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

// Write appends to the body, setting status 200 if none was written.
func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}

// code returns the status, 200 when the handler wrote nothing.
func (r *recorder) code() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}
