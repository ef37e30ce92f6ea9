package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/calltest"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// TestOneInvoiceCanBeFollowedThroughTheLogs posts an invoice with a request
// ID and finds that ID on the request's log line, the processor's decision,
// the fan-out and the webhook attempt.
func TestOneInvoiceCanBeFollowedThroughTheLogs(t *testing.T) {
	var delivered atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { delivered.Add(1) }))
	t.Cleanup(receiver.Close)
	var logs calltest.SyncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := Start(context.Background(), serveConfig(t, ""), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopService(t, svc) })
	base := "http://" + svc.Addr()
	if a := calltest.Call(t, http.MethodPost, base+"/webhooks/subscriptions", `{"url":"`+receiver.URL+`"}`, "Content-Type", "application/json"); a.Status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", a.Status, a.Body)
	}
	const id = "trace-me-42"
	a := calltest.Call(t, http.MethodPost, base+"/invoices", calltest.InvoiceBody,
		"Content-Type", "application/json", "Idempotency-Key", "traced", "X-Request-ID", id)
	if a.Status != http.StatusCreated || a.Header.Get("X-Request-ID") != id {
		t.Fatalf("%d, X-Request-ID %q", a.Status, a.Header.Get("X-Request-ID"))
	}
	want := []string{"request", "invoice decided", "event fanned out", "webhook attempt"}
	natstest.Eventually(t, 20*time.Second, "every stage logs the request ID", func() bool {
		seen := map[string]bool{}
		for _, line := range strings.Split(logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["request_id"] == id {
				seen[m["msg"].(string)] = true
			}
		}
		for _, msg := range want {
			if !seen[msg] {
				return false
			}
		}
		return true
	})
}
