package app

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/calltest"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// TestTestEventReachesTheSubscription sends a test event of a chosen type
// to one subscription: it arrives with that type, as a delivery in the log
// like any other, and a disabled subscription is refused.
func TestTestEventReachesTheSubscription(t *testing.T) {
	recv := calltest.NewReceiver(t)
	svc := startService(t, serveConfig(t, ""))
	base := "http://" + svc.Addr()
	sub := calltest.Call(t, http.MethodPost, base+"/webhooks/subscriptions",
		`{"url":"`+recv.URL+`","event_types":["invoice.processed","invoice.failed"]}`, "Content-Type", "application/json")
	if sub.Status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", sub.Status, sub.Body)
	}
	id := calltest.Field(t, sub.Body, "id")
	a := calltest.Call(t, http.MethodPost, base+"/webhooks/subscriptions/"+id+"/test", `{"event_type":"invoice.failed"}`, "Content-Type", "application/json")
	if a.Status != http.StatusAccepted || calltest.Field(t, a.Body, "event_type") != "invoice.failed" {
		t.Fatalf("test event: %d %s", a.Status, a.Body)
	}
	got := recv.AwaitTotal(t, 1)
	if got[calltest.Field(t, a.Body, "event_id")] != 1 {
		t.Fatalf("the receiver got %v, want the test event %s", got, calltest.Field(t, a.Body, "event_id"))
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
		r := calltest.Call(t, http.MethodGet, base+"/webhooks/deliveries/"+calltest.Field(t, a.Body, "delivery_id"), "")
		return r.Status == http.StatusOK && json.Unmarshal(r.Body, &d) == nil && d.Status == "delivered"
	})
	if d.EventType != "invoice.failed" || d.Payload.Type != "invoice.failed" || d.Payload.Data.Status != "failed" || d.Payload.Data.Metadata["test"] != "true" {
		t.Fatalf("logged delivery: %+v", d)
	}
	if r := calltest.Call(t, http.MethodPatch, base+"/webhooks/subscriptions/"+id, `{"status":"disabled"}`, "Content-Type", "application/json"); r.Status != http.StatusOK {
		t.Fatalf("disable: %d", r.Status)
	}
	if r := calltest.Call(t, http.MethodPost, base+"/webhooks/subscriptions/"+id+"/test", `{}`, "Content-Type", "application/json"); r.Status != http.StatusConflict {
		t.Fatalf("test event to a disabled subscription: %d %s", r.Status, r.Body)
	}
}
