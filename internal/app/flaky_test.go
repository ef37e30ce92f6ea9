package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/calltest"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// TestFlakyReceiverGetsEverything is the tutorial's receiver, which fails
// about 30% of requests: every webhook still arrives, with every failed
// attempt in the log.
func TestFlakyReceiverGetsEverything(t *testing.T) {
	var requests, delivered atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if requests.Add(1)%10 < 3 { // 3 of every 10
			http.Error(w, `{"ok":false,"note":"simulated failure"}`, http.StatusInternalServerError)
			return
		}
		delivered.Add(1)
	}))
	t.Cleanup(receiver.Close)
	svc := startService(t, serveConfig(t, "", "--webhook-retry-schedule", "10ms,20ms,40ms,80ms,160ms,320ms,640ms"))
	base := "http://" + svc.Addr()
	if a := calltest.Call(t, http.MethodPost, base+"/webhooks/subscriptions", `{"url":"`+receiver.URL+`"}`, "Content-Type", "application/json"); a.Status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", a.Status, a.Body)
	}
	const invoices = 20
	for i := range invoices {
		if a := calltest.PostInvoice(t, base, fmt.Sprint("flaky-", i), calltest.InvoiceBody); a.Status != http.StatusCreated {
			t.Fatalf("invoice %d: %d", i, a.Status)
		}
	}
	natstest.Eventually(t, 30*time.Second, "every webhook delivered", func() bool {
		return delivered.Load() >= 2*invoices
	})
	var list struct {
		Data []struct {
			Status   string            `json:"status"`
			Attempts []json.RawMessage `json:"attempts"`
		} `json:"data"`
	}
	natstest.Eventually(t, 10*time.Second, "the log agrees", func() bool {
		a := calltest.Call(t, http.MethodGet, base+"/webhooks/deliveries?status=delivered&limit=100", "")
		return json.Unmarshal(a.Body, &list) == nil && len(list.Data) == 2*invoices
	})
	attempts := 0
	for _, d := range list.Data {
		attempts += len(d.Attempts)
	}
	if int64(attempts) != requests.Load() || delivered.Load() != 2*invoices {
		t.Fatalf("%d attempts logged, %d requests received, %d delivered", attempts, requests.Load(), delivered.Load())
	}
}
