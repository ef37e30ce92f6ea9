package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// benchSub is the subscription every benchmark record belongs to.
const benchSub = "0b6f5a3e-2f7c-4c1e-9d3a-6f1e2b4c5d7e"

// BenchmarkListDeliveries100k measures one page of GET /webhooks/deliveries
// out of 100,000 records in the read model, put there through a real
// bucket.
func BenchmarkListDeliveries100k(b *testing.B) {
	e := newDeliveriesEnv(b)
	statuses := webhook.DeliveryStatuses
	var last webhook.Delivery
	for n := range 100_000 {
		last = e.record(benchSub, n, statuses[n%len(statuses)], webhook.EventInvoiceProcessed)
		data, _ := json.Marshal(last)
		if _, err := e.js.PublishAsync(webhook.LiveSubject(last.ID), data); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-e.js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("publishing timed out")
	}
	natstest.Eventually(b, time.Minute, "the read model holds every record", func() bool {
		_, err := e.model.Delivery(context.Background(), last.ID)
		return err == nil
	})
	handler := e.http.Config.Handler
	for _, q := range []url.Values{
		{"limit": {"100"}},
		{"limit": {"100"}, "status": {webhook.DeliveryDead}},
		{"limit": {"100"}, "status": {webhook.DeliveryDead}, "subscription_id": {benchSub}, "event_type": {webhook.EventInvoiceProcessed}},
	} {
		b.Run(q.Encode(), func(b *testing.B) {
			for b.Loop() {
				rec := httptest.NewRecorder()
				handler.ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/webhooks/deliveries?"+q.Encode(), nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
