package app

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/testing/calltest"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// TestTutorialJourneyWithWebhooks runs the tutorial's journey against one
// all-in-one service: subscribe a receiver, create an invoice, and see both
// signed webhooks arrive and their deliveries in the log.
func TestTutorialJourneyWithWebhooks(t *testing.T) {
	var mu sync.Mutex
	var secret string
	got := map[string]string{} // event type → webhook-id
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := webhook.Verify(secret, r.Header, body, time.Now(), time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		got[r.Header.Get("X-Event-Type")] = r.Header.Get("webhook-id")
	}))
	t.Cleanup(receiver.Close)

	svc := startService(t, serveConfig(t, ""))
	base := "http://" + svc.Addr()
	sub := calltest.Call(t, http.MethodPost, base+"/webhooks/subscriptions", `{"url":"`+receiver.URL+`/webhook"}`, "Content-Type", "application/json")
	if sub.Status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", sub.Status, sub.Body)
	}
	mu.Lock()
	secret = calltest.Field(t, sub.Body, "secret")
	mu.Unlock()
	subID := calltest.Field(t, sub.Body, "id")

	inv := calltest.PostInvoice(t, base, "inv-001", calltest.InvoiceBody)
	calltest.AwaitStatus(t, base, calltest.Field(t, inv.Body, "id"), "processed")
	natstest.Eventually(t, 15*time.Second, "both webhooks verified", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return got[webhook.EventInvoiceCreated] != "" && got[webhook.EventInvoiceProcessed] != ""
	})

	var list struct {
		Data []struct {
			Status         string            `json:"status"`
			SubscriptionID string            `json:"subscription_id"`
			Attempts       []webhook.Attempt `json:"attempts"`
		} `json:"data"`
	}
	natstest.Eventually(t, 10*time.Second, "two delivered deliveries listed", func() bool {
		a := calltest.Call(t, http.MethodGet, base+"/webhooks/deliveries?status=delivered", "")
		if a.Status != http.StatusOK || json.Unmarshal(a.Body, &list) != nil {
			return false
		}
		return len(list.Data) == 2
	})
	for _, d := range list.Data {
		if d.SubscriptionID != subID || len(d.Attempts) != 1 || d.Attempts[0].HTTPStatus != 200 {
			t.Fatalf("delivery %+v", d)
		}
	}
}
