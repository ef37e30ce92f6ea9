package api_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/api"
)

// TestAnswersNetHTTPWritesItself pins the answers Go's HTTP server writes,
// in plain text, before any handler of the service runs: it allows no
// handler to answer them instead. docs/API.md lists them ("Answers that do
// not come from the service"); a Go release that changes one fails here,
// so that the list is looked at again.
func TestAnswersNetHTTPWritesItself(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = api.NewServer(surfaceHandler(t), api.ServerLimits{}, discardLog())
	srv.Start()
	t.Cleanup(srv.Close)
	const host = "Host: invoiced\r\n"
	tests := []struct {
		name, request string
		status        int
		body          string // what the answer's body starts with
	}{
		{"an HTTP/2.0 request line", "GET /healthz HTTP/2.0\r\n" + host + "\r\n", http.StatusHTTPVersionNotSupported, "505 HTTP Version Not Supported"},
		{"an HTTP/0.9 request line", "GET /healthz HTTP/0.9\r\n" + host + "\r\n", http.StatusHTTPVersionNotSupported, "505 HTTP Version Not Supported"},
		{"an unknown transfer coding", "POST /invoices HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\n\r\n", http.StatusNotImplemented, "Unsupported transfer encoding"},
		{"a list of transfer codings", "POST /invoices HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip, chunked\r\n\r\n", http.StatusNotImplemented, "Unsupported transfer encoding"},
		{"Transfer-Encoding twice", "POST /invoices HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", http.StatusNotImplemented, "Unsupported transfer encoding"},
		{"no Host", "GET /healthz HTTP/1.1\r\n\r\n", http.StatusBadRequest, "400 Bad Request"},
		{"a malformed Host", "GET /healthz HTTP/1.1\r\nHost: a b\r\n\r\n", http.StatusBadRequest, "400 Bad Request"},
		{"Host twice", "GET /healthz HTTP/1.1\r\n" + host + host + "\r\n", http.StatusBadRequest, "400 Bad Request"},
		{"an invalid header name", "GET /healthz HTTP/1.1\r\n" + host + "Bad Name: x\r\n\r\n", http.StatusBadRequest, "400 Bad Request"},
		{"a control character in a header", "GET /healthz HTTP/1.1\r\n" + host + "X-A: a\x01b\r\n\r\n", http.StatusBadRequest, "400 Bad Request"},
		{"a Content-Length not a number", "POST /invoices HTTP/1.1\r\n" + host + "Content-Length: x\r\n\r\n", http.StatusBadRequest, "400 Bad Request"},
		{"two Content-Lengths", "POST /invoices HTTP/1.1\r\n" + host + "Content-Length: 1\r\nContent-Length: 2\r\n\r\n", http.StatusBadRequest, "400 Bad Request"},
		{"a malformed request line", "GARBAGE\r\n\r\n", http.StatusBadRequest, "400 Bad Request"},
		{"a bad escape in the path", "GET /%zz HTTP/1.1\r\n" + host + "\r\n", http.StatusBadRequest, "400 Bad Request"},
		{"headers over the limit", "GET /healthz HTTP/1.1\r\n" + host + "X-A: " + strings.Repeat("a", 80<<10) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge, "431 Request Header Fields Too Large"},
		{"an unknown expectation", "GET /healthz HTTP/1.1\r\n" + host + "Expect: something\r\n\r\n", http.StatusExpectationFailed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := rawRequest(t, srv.Listener.Addr().String(), tt.request)
			if res.StatusCode != tt.status || !strings.HasPrefix(body, tt.body) {
				t.Fatalf("%d %q, want %d %q", res.StatusCode, body, tt.status, tt.body)
			}
			if ct := res.Header.Get("Content-Type"); ct != "" && ct != "text/plain; charset=utf-8" {
				t.Fatalf("Content-Type %q: the service answered this itself; docs/API.md says net/http does", ct)
			}
		})
	}
	// Beside them, the service answers for itself: "OPTIONS *" too, which
	// net/http would answer with an empty 200 of its own, and the HTTP/2
	// preface and other unknown methods, which chi would refuse with 405
	// and an empty Allow where no route is.
	for _, request := range []string{
		"GET /nope HTTP/1.1\r\n" + host + "\r\n",
		"OPTIONS * HTTP/1.1\r\n" + host + "\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"FOO /nope HTTP/1.1\r\n" + host + "\r\n",
	} {
		res, body := rawRequest(t, srv.Listener.Addr().String(), request)
		if res.StatusCode != http.StatusNotFound || res.Header.Get("Content-Type") != "application/problem+json" ||
			res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("%q: %d %v %q, want the service's 404 problem", request, res.StatusCode, res.Header, body)
		}
	}
	res, body := rawRequest(t, srv.Listener.Addr().String(), "FOO /invoices HTTP/1.1\r\n"+host+"\r\n")
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, POST" {
		t.Fatalf("FOO /invoices: %d %v %q, want 405 allowing GET, POST", res.StatusCode, res.Header, body)
	}
}

// rawRequest writes request as it is to addr and reads the answer.
func rawRequest(t *testing.T, addr, request string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}
