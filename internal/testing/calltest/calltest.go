// Package calltest sends the HTTP requests of tests to a running service
// and reads the answers.
package calltest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// Answer is a service's whole answer to one request.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// Call sends method url with body and the header pairs given (name, value,
// …) and returns the answer; a request that gets none fails the test.
func Call(t testing.TB, method, url, body string, headers ...string) Answer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, url, err)
	}
	return Answer{res.StatusCode, res.Header, b}
}

// PostInvoice creates an invoice at the service at base under key.
func PostInvoice(t testing.TB, base, key, body string) Answer {
	t.Helper()
	return Call(t, http.MethodPost, base+"/invoices", body, "Content-Type", "application/json", "Idempotency-Key", key)
}

// Field returns the string member name of the JSON object body, or "" when
// it has none; a body that is no JSON object fails the test.
func Field(t testing.TB, body []byte, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	s, _ := m[name].(string)
	return s
}

// AwaitStatus waits until the invoice id at the service at base has
// status, and returns its body.
func AwaitStatus(t testing.TB, base, id, status string) []byte {
	t.Helper()
	var last []byte
	natstest.Eventually(t, 15*time.Second, "invoice "+id+" "+status, func() bool {
		a := Call(t, http.MethodGet, base+"/invoices/"+id, "")
		last = a.Body
		return a.Status == http.StatusOK && Field(t, a.Body, "status") == status
	})
	return last
}

// InvoiceBody is a valid invoice request.
const InvoiceBody = `{"customer_id":"cust_123","amount_cents":2500,"currency":"USD"}`

// SyncBuffer is a log sink safe for concurrent writers.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
