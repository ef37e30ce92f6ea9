package app

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/natstest"
)

// TestTestEventReachesTheSubscription sends a test event of a chosen type
// to one subscription: it arrives with that type, as a delivery in the log
// like any other, and a disabled subscription is refused.
func TestTestEventReachesTheSubscription(t *testing.T) {
	recv := newCountingReceiver(t)
	svc := startService(t, serveConfig(t, ""))
	base := "http://" + svc.Addr()
	sub := call(t, http.MethodPost, base+"/webhooks/subscriptions",
		`{"url":"`+recv.URL+`","event_types":["invoice.processed","invoice.failed"]}`, "Content-Type", "application/json")
	if sub.status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", sub.status, sub.body)
	}
	id := field(t, sub.body, "id")
	a := call(t, http.MethodPost, base+"/webhooks/subscriptions/"+id+"/test", `{"event_type":"invoice.failed"}`, "Content-Type", "application/json")
	if a.status != http.StatusAccepted || field(t, a.body, "event_type") != "invoice.failed" {
		t.Fatalf("test event: %d %s", a.status, a.body)
	}
	got := recv.awaitTotal(t, 1)
	if got[field(t, a.body, "event_id")] != 1 {
		t.Fatalf("the receiver got %v, want the test event %s", got, field(t, a.body, "event_id"))
	}
	var d struct {
		Status    string `json:"status"`
		EventType string `json:"event_type"`
		Payload   struct {
			Type string `json:"type"`
			Data struct {
				Status   string            `json:"status"`
				Metadata map[string]string `json:"metadata"`
			} `json:"data"`
		} `json:"payload"`
	}
	natstest.Eventually(t, 10*time.Second, "the delivery is logged", func() bool {
		r := call(t, http.MethodGet, base+"/webhooks/deliveries/"+field(t, a.body, "delivery_id"), "")
		return r.status == http.StatusOK && json.Unmarshal(r.body, &d) == nil && d.Status == "delivered"
	})
	if d.EventType != "invoice.failed" || d.Payload.Type != "invoice.failed" || d.Payload.Data.Status != "failed" || d.Payload.Data.Metadata["test"] != "true" {
		t.Fatalf("logged delivery: %+v", d)
	}
	if r := call(t, http.MethodPatch, base+"/webhooks/subscriptions/"+id, `{"status":"disabled"}`, "Content-Type", "application/json"); r.status != http.StatusOK {
		t.Fatalf("disable: %d", r.status)
	}
	if r := call(t, http.MethodPost, base+"/webhooks/subscriptions/"+id+"/test", `{}`, "Content-Type", "application/json"); r.status != http.StatusConflict {
		t.Fatalf("test event to a disabled subscription: %d %s", r.status, r.body)
	}
}
