package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/invoiced/invoiced/events"
)

// syncBuffer is a bytes.Buffer safe for a logger and a test at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the JSON log lines written so far.
func (b *syncBuffer) lines(t testing.TB) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestEveryRequestIsLoggedOnceWithItsID(t *testing.T) {
	var logs syncBuffer
	e := newEnv(t, envOptions{log: slog.New(slog.NewJSONHandler(&logs, nil))})
	const body = `{"customer_id":"cust_1","amount_cents":100,"currency":"USD"}`
	tests := []struct {
		name, sentID string
		key, body    string
		status       int
		keepsID      bool
		err          bool
	}{
		{"the client's ID", "req-abc.123_X", "k1", body, http.StatusCreated, true, false},
		{"no ID", "", "k2", body, http.StatusCreated, false, false},
		{"an ID not worth echoing", "has space;drop table", "k3", body, http.StatusCreated, false, false},
		{"a refused request", "req-bad", "k4", `{"amount_cents":-1}`, http.StatusBadRequest, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := []string{"Content-Type", "application/json", "Idempotency-Key", tt.key}
			if tt.sentID != "" {
				headers = append(headers, "X-Request-ID", tt.sentID)
			}
			r := e.do(t, http.MethodPost, "/invoices", []byte(tt.body), headers...)
			id := r.header.Get("X-Request-ID")
			switch {
			case r.status != tt.status:
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			case tt.keepsID && id != tt.sentID, !tt.keepsID && (id == "" || id == tt.sentID):
				t.Fatalf("X-Request-ID %q for %q sent", id, tt.sentID)
			}
			lines := e.requestLines(t, &logs, id)
			if len(lines) != 1 || lines[0]["route"] != "/invoices" || lines[0]["status"] != float64(tt.status) {
				t.Fatalf("log lines for %s: %v", id, lines)
			}
			if _, hasErr := lines[0]["err"]; hasErr != tt.err {
				t.Errorf("log line err: %v, want one: %v", lines[0]["err"], tt.err)
			}
			if tt.status == http.StatusCreated {
				var inv invoice
				r.json(t, &inv)
				msg, err := e.stream.GetLastMsgForSubject(context.Background(), events.EventSubjects(inv.ID, events.InvoiceRequested)[0])
				if err != nil || msg.Header.Get(events.HeaderRequestID) != id {
					t.Fatalf("the stored event carries request ID %q (%v), want %q", msg.Header.Get(events.HeaderRequestID), err, id)
				}
			}
		})
	}
}

// requestLines returns the log lines of the request with ID id.
func (e *env) requestLines(t testing.TB, logs *syncBuffer, id string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range logs.lines(t) {
		if l["request_id"] == id {
			out = append(out, l)
		}
	}
	return out
}
