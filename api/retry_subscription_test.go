package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/internal/contract/webhook"
)

// TestRetryRefusedWhenTheSubscriptionIsOff checks that a retry of a
// delivery whose subscription is disabled or deleted is refused with 409,
// as recover is, and asks for no attempt: the dispatcher would only end the
// delivery as dead again without sending anything.
func TestRetryRefusedWhenTheSubscriptionIsOff(t *testing.T) {
	e := newDeliveriesEnv(t)
	on := e.subscribe(t, `{"url":"https://example.com/on"}`)
	disabled := e.subscribe(t, `{"url":"https://example.com/off"}`)
	deleted := e.subscribe(t, `{"url":"https://example.com/gone"}`)
	onDead := e.put(t, e.record(on.ID, 1, webhook.DeliveryDead, webhook.EventInvoiceCreated))
	disabledDead := e.put(t, e.record(disabled.ID, 2, webhook.DeliveryDead, webhook.EventInvoiceCreated))
	deletedDead := e.put(t, e.record(deleted.ID, 3, webhook.DeliveryDead, webhook.EventInvoiceCreated))
	if r := e.do(t, http.MethodPatch, "/webhooks/subscriptions/"+disabled.ID, []byte(`{"status":"disabled"}`), "Content-Type", "application/json"); r.status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	if r := e.do(t, http.MethodDelete, "/webhooks/subscriptions/"+deleted.ID, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	retry := func(d webhook.Delivery) response {
		return e.do(t, http.MethodPost, "/webhooks/deliveries/"+d.ID+"/retry", nil)
	}

	for _, tt := range []struct {
		name string
		d    webhook.Delivery
		word string // the detail says why
	}{
		{"disabled", disabledDead, "disabled"},
		{"deleted", deletedDead, "deleted"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := wantProblem(t, retry(tt.d), http.StatusConflict, "")
			if p.Type != "urn:invoiced:problem:conflict" || !strings.Contains(p.Detail, tt.word) || !strings.Contains(p.Detail, tt.d.SubscriptionID) {
				t.Fatalf("problem %+v, want a conflict naming subscription %s as %s", p, tt.d.SubscriptionID, tt.word)
			}
			if n := e.taskCount(t); n != 0 {
				t.Fatalf("a refused retry published %d tasks", n)
			}
		})
	}

	if r := retry(onDead); r.status != http.StatusAccepted {
		t.Fatalf("retry at an enabled subscription: %d %s", r.status, r.body)
	}
	if n := e.taskCount(t); n != 1 {
		t.Fatalf("the stream holds %d tasks, want 1", n)
	}
}
