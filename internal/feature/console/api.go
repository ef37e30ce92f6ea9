package console

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/invoiced/invoiced/client"
)

// inProcessBase is the base URL of the API as the console's client sees
// it; its requests never leave the process.
const inProcessBase = "http://invoiced.in-process"

// caller is whom one browser request calls the API as: a client with the
// session's API key, served by the API's handler in this process, and the
// request ID that names its calls in the API's log.
type caller struct {
	api *client.Client
	id  client.CallOption
}

// callerOf returns whom r calls the API as: its session.
func (c *Console) callerOf(r *http.Request) caller {
	return c.callerWith(r, stateOf(r).sess.apiKey)
}

// callerWith returns a caller that calls the API with key (none when
// empty) on behalf of the browser request r. Its client never retries: a
// refusal is shown as the API put it. A key the client cannot send (one
// with a line break, which login never lets into a session) calls as no
// one, and the API refuses that as it would the key.
func (c *Console) callerWith(r *http.Request, key string) caller {
	hc := &http.Client{
		Transport: inProcess{handler: c.apiHandler, remote: r.RemoteAddr},
		// An answer is the API's own, redirect or not.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	opts := []client.Option{client.WithHTTPClient(hc), client.WithRetry(1, 0), client.WithUserAgent("invoiced-console")}
	api, err := client.New(inProcessBase, append(opts, client.WithAPIKey(key))...)
	if err != nil {
		api, _ = client.New(inProcessBase, opts...) // fails only for the key, left out here
	}
	return caller{api: api, id: client.WithRequestID(stateOf(r).requestID)}
}

// inProcess is an http.RoundTripper that serves each request with the
// API's handler in this process, as the API's server would over the
// network: the request carries the browser's address (for the API's log
// and its limits on refused keys) and none of the console's routing state.
type inProcess struct {
	handler http.Handler
	remote  string
}

// RoundTrip serves req with the handler and returns its answer, held in
// memory. It never fails.
func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close()
	}
	// The API routes with a routing context of its own, not the console's.
	in := req.Clone(context.WithValue(req.Context(), chi.RouteCtxKey, nil))
	in.RemoteAddr, in.RequestURI = t.remote, req.URL.RequestURI()
	if in.Body == nil {
		in.Body = http.NoBody
	}
	rec := &recorder{header: http.Header{}}
	t.handler.ServeHTTP(rec, in)
	status := rec.code()
	return &http.Response{
		Status: fmt.Sprintf("%d %s", status, http.StatusText(status)), StatusCode: status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: rec.header.Clone(), Body: io.NopCloser(bytes.NewReader(rec.body.Bytes())),
		ContentLength: int64(rec.body.Len()), Request: req,
	}, nil
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
