package client_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/invoiced/invoiced/client"
)

// step answers one request of a scripted server.
type step func(w http.ResponseWriter, r *http.Request)

// seen is a request a scripted server received.
type seen struct {
	method, path, query string
	header              http.Header
	body                string
}

// script is a test server that answers its requests with its steps in
// order, the last one for every request after, and records them.
type script struct {
	URL string

	mu    sync.Mutex
	steps []step
	reqs  []seen
}

// newScript starts a scripted server.
func newScript(t testing.TB, steps ...step) *script {
	t.Helper()
	s := &script{steps: steps}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		n := len(s.reqs)
		s.reqs = append(s.reqs, seen{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone(), string(body)})
		next := s.steps[min(n, len(s.steps)-1)]
		s.mu.Unlock()
		next(w, r)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// requests returns the requests received so far.
func (s *script) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

// fastClient returns a client of base that retries quickly, at most
// attempts times.
func fastClient(t testing.TB, base string, attempts int, opts ...client.Option) *client.Client {
	t.Helper()
	opts = append([]client.Option{client.WithRetry(attempts, 20*time.Second), client.WithBackoff(time.Millisecond, 5*time.Millisecond)}, opts...)
	c, err := client.New(base, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// problem answers with a problem of the given status and type, and a
// Retry-After of retryAfter unless it is empty.
func problem(status int, typ client.ProblemType, retryAfter string) step {
	return func(w http.ResponseWriter, _ *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("X-Request-ID", "req-scripted")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"type":%q,"title":"Scripted","status":%d,"detail":"scripted answer"}`, typ, status)
	}
}

// answer answers with status and a JSON body, and header pairs.
func answer(status int, body string, header ...string) step {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// plain answers as a proxy might: status and a text page.
func plain(status int, body string) step {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// cut closes the connection without an answer, after reading the request.
func cut(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

// invoiceJSON is an invoice as the service answers it.
const invoiceJSON = `{"id":"91733d96-050b-59d1-a68c-89b289e950c3","account":"default","status":"created","customer_id":"cust_123",` +
	`"amount_cents":2500,"currency":"USD","description":"","metadata":{},"created_at":"2026-01-02T03:04:05Z"}`
