package app

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/calltest"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// TestOldestUndeliveredShowsAStuckDelivery fails a delivery and finds its
// age in the gauge, growing, until a manual attempt delivers it.
func TestOldestUndeliveredShowsAStuckDelivery(t *testing.T) {
	var up atomic.Bool
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !up.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(receiver.Close)
	svc := startService(t, serveConfig(t, "", "--webhook-retry-schedule", "1h"))
	base := "http://" + svc.Addr()
	const gauge = "invoiced_webhook_oldest_undelivered_seconds"
	awaitMetrics(t, base+"/metrics", map[string]float64{gauge: 0, "invoiced_ready": 1})

	calltest.Subscribe(t, base, receiver.URL)
	calltest.PostInvoice(t, base, "stuck", calltest.InvoiceBody)
	var first float64
	natstest.Eventually(t, 20*time.Second, "the failing delivery in the gauge", func() bool {
		_, got := scrape(t, base+"/metrics")
		first = got[gauge]
		return first > 0
	})
	natstest.Eventually(t, 20*time.Second, "the gauge growing with the delivery's age", func() bool {
		_, got := scrape(t, base+"/metrics")
		return got[gauge] > first
	})

	up.Store(true)
	for _, id := range failingDeliveries(t, base) {
		if a := calltest.Call(t, http.MethodPost, base+"/webhooks/deliveries/"+id+"/retry", ""); a.Status != http.StatusAccepted {
			t.Fatalf("retry %s: %d %s", id, a.Status, a.Body)
		}
	}
	awaitMetrics(t, base+"/metrics", map[string]float64{gauge: 0})
}

// failingDeliveries returns the IDs of the deliveries the API lists as
// failing.
func failingDeliveries(t *testing.T, base string) []string {
	t.Helper()
	a := calltest.Call(t, http.MethodGet, base+"/webhooks/deliveries?status=failing", "")
	var page struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(a.Body, &page); err != nil || len(page.Data) == 0 {
		t.Fatalf("failing deliveries: %d %s (%v)", a.Status, a.Body, err)
	}
	ids := make([]string, 0, len(page.Data))
	for _, d := range page.Data {
		ids = append(ids, d.ID)
	}
	return ids
}
