package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
)

// testEventBody is the payload of POST /webhooks/subscriptions/{id}/test.
type testEventBody struct {
	EventType *string `json:"event_type"`
}

type testEventResponse struct {
	DeliveryID string `json:"delivery_id"`
	EventID    string `json:"event_id"`
	EventType  string `json:"event_type"`
	InvoiceID  string `json:"invoice_id"`
}

// TestEventHandler returns the handler of POST
// /webhooks/subscriptions/{id}/test: a made-up event sent to one
// subscription like any other, its delivery retried and logged.
func (h *Deliveries) TestEventHandler() http.HandlerFunc { return h.handle(h.sendTestEvent) }

func (h *Deliveries) sendTestEvent(w http.ResponseWriter, r *http.Request) error {
	subID, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		return fmt.Errorf("%w: no subscription %q", ErrNotFound, chi.URLParam(r, "id"))
	}
	var in testEventBody
	if err := readJSON(w, r, &in); err != nil {
		return err
	}
	if in.EventType != nil && !slices.Contains(webhook.EventTypes, *in.EventType) {
		return invalidField("event_type", "must be one of %s, not %q", strings.Join(webhook.EventTypes, ", "), *in.EventType)
	}
	sub, err := h.enabledSubscription(r.Context(), subID, "sending it a test event")
	if err != nil {
		return err
	}
	eventType := firstInvoiceEventType(sub.EventTypes)
	if in.EventType != nil {
		eventType = *in.EventType
	}
	task, err := h.testTask(r.Context(), sub, eventType)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, testEventResponse{DeliveryID: task.DeliveryID, EventID: task.EventID, EventType: eventType, InvoiceID: task.InvoiceID})
	return nil
}

// testTask publishes the first task of a new delivery to sub of a made-up
// event of eventType, about a made-up invoice of sub's account marked as a
// test, whose body says "test": true, and returns it.
func (h *Deliveries) testTask(ctx context.Context, sub webhook.Subscription, eventType string) (webhook.Task, error) {
	subID, now := sub.ID, h.now().UTC().Truncate(time.Microsecond)
	inv := events.Invoice{
		ID: uuid.NewString(), Account: sub.Owner(), Status: testStatus[eventType], CustomerID: "cust_test", AmountCents: 2500, Currency: "USD",
		Description: "A test event sent from invoiced; no such invoice exists.", Metadata: map[string]string{"test": "true"},
		CreatedAt: now,
	}
	switch eventType {
	case webhook.EventInvoiceProcessed:
		inv.ProcessedAt = &now
	case webhook.EventInvoiceFailed:
		inv.FailedAt, inv.FailureReason = &now, events.ReasonAmountExceedsLimit
	}
	ev := events.Event{Schema: events.SchemaVersion, ID: uuid.NewString(), Type: testEventTypes[eventType], Time: now, Invoice: inv}
	task, err := webhook.NewTestTask(ev, eventType, subID)
	if err != nil {
		return webhook.Task{}, err
	}
	if err := webhook.PublishTask(ctx, h.pub, task, RequestID(ctx)); err != nil {
		return webhook.Task{}, unavailable("send test event", err)
	}
	return task, nil
}

// testEventTypes and testStatus give a test event of each webhook type its
// event type and its invoice's status.
var (
	testEventTypes = map[string]events.Type{
		webhook.EventInvoiceCreated:   events.InvoiceRequested,
		webhook.EventInvoiceProcessed: events.InvoiceProcessed,
		webhook.EventInvoiceFailed:    events.InvoiceFailed,
	}
	testStatus = map[string]events.Status{
		webhook.EventInvoiceCreated:   events.StatusCreated,
		webhook.EventInvoiceProcessed: events.StatusProcessed,
		webhook.EventInvoiceFailed:    events.StatusFailed,
	}
)

// firstInvoiceEventType returns the first invoice event type of types, the
// default of a test event, or invoice.created when it lists only
// operational ones.
func firstInvoiceEventType(types []string) string {
	for _, t := range types {
		if !webhook.IsOperational(t) {
			return t
		}
	}
	return webhook.EventInvoiceCreated
}
