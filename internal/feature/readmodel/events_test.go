package readmodel_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// eventIDs reads every page of f, limit at a time, and returns the event
// IDs in order.
func eventIDs(t *testing.T, s *readmodel.Store, f readmodel.EventFilter, limit int) []string {
	t.Helper()
	var all []string
	for before := (readmodel.EventPos{}); ; {
		page, next, err := s.Events(context.Background(), f, before, limit)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			all = append(all, e.Event.ID)
		}
		if next.IsZero() {
			return all
		}
		before = next
	}
}

// TestEventsAreListedInTheOrderTheyHappened checks that every invoice
// event is listed once, newest first in the order of INVOICES (an outcome
// after later requests), page by page, and by each filter.
func TestEventsAreListedInTheOrderTheyHappened(t *testing.T) {
	fx := newFixture(t)
	a := fx.request("cust-a")
	b := fx.request("cust-b")
	aDone := events.NewProcessed(a.Invoice, epoch.Add(time.Hour))
	fx.publish(aDone)
	c := fx.request("cust-c")
	bFailed := events.NewFailed(b.Invoice, epoch.Add(2*time.Hour), events.ReasonAmountExceedsLimit)
	fx.publish(bFailed)
	fx.publish(aDone) // a copy the stream stores again is listed once
	fx.caughtUp()

	newestFirst := []string{bFailed.ID, c.ID, aDone.ID, b.ID, a.ID}
	for _, limit := range []int{1, 2, 10} {
		if got := eventIDs(t, fx.store, readmodel.EventFilter{}, limit); !slices.Equal(got, newestFirst) {
			t.Fatalf("pages of %d: %v, want %v", limit, got, newestFirst)
		}
	}
	delivered := true
	for _, tt := range []struct {
		name string
		f    readmodel.EventFilter
		want []string
	}{
		{"an invoice's", readmodel.EventFilter{InvoiceID: a.Invoice.ID}, []string{aDone.ID, a.ID}},
		{"a type's", readmodel.EventFilter{Type: events.InvoiceRequested}, []string{c.ID, b.ID, a.ID}},
		{"an invoice's requests", readmodel.EventFilter{InvoiceID: b.Invoice.ID, Type: events.InvoiceRequested}, []string{b.ID}},
		{"an invoice's since its outcome", readmodel.EventFilter{InvoiceID: b.Invoice.ID, Since: epoch.Add(2 * time.Hour)}, []string{bFailed.ID}},
		{"an invoice of another account", readmodel.EventFilter{InvoiceID: b.Invoice.ID, Account: "other"}, nil},
		{"since the outcomes", readmodel.EventFilter{Since: epoch.Add(time.Hour)}, []string{bFailed.ID, aDone.ID}},
		{"another account's", readmodel.EventFilter{Account: "other"}, nil},
		{"the caller's", readmodel.EventFilter{Account: "t", Type: events.InvoiceFailed}, []string{bFailed.ID}},
		{"all delivered, none having deliveries", readmodel.EventFilter{Delivered: &delivered}, newestFirst},
	} {
		if got := eventIDs(t, fx.store, tt.f, 2); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestEventsShowWhatTheirDeliveriesDid lists an event with one delivered
// and one failing delivery, and checks delivery_success either way.
func TestEventsShowWhatTheirDeliveriesDid(t *testing.T) {
	fx := newFixture(t)
	a := fx.request("cust-a")
	b := fx.request("cust-b")
	fx.caughtUp()
	ok := webhook.Delivery{ID: webhook.DeliveryID(a.ID, "sub-1"), SubscriptionID: "sub-1", EventID: a.ID, EventType: webhook.EventInvoiceCreated,
		InvoiceID: a.Invoice.ID, Status: webhook.DeliveryDelivered, Attempts: []webhook.Attempt{{Number: 1, HTTPStatus: 200}},
		CreatedAt: epoch, UpdatedAt: epoch}
	failing := ok
	failing.ID, failing.SubscriptionID, failing.Status = webhook.DeliveryID(a.ID, "sub-2"), "sub-2", webhook.DeliveryFailing
	failing.Attempts = []webhook.Attempt{{Number: 1, HTTPStatus: 500}, {Number: 2, HTTPStatus: 503}}
	failing.CreatedAt = epoch.Add(time.Second)
	fx.live(ok)
	fx.live(failing)
	var page []readmodel.Event
	natstest.Eventually(t, 10*time.Second, "the deliveries of "+a.ID+" shown", func() bool {
		var err error
		if page, _, err = fx.store.Events(context.Background(), readmodel.EventFilter{InvoiceID: a.Invoice.ID}, readmodel.EventPos{}, 10); err != nil {
			t.Fatal(err)
		}
		return len(page) > 0 && len(page[0].Deliveries) == 2
	})
	want := []readmodel.EventDelivery{
		{ID: ok.ID, SubscriptionID: "sub-1", Status: webhook.DeliveryDelivered, Attempts: 1},
		{ID: failing.ID, SubscriptionID: "sub-2", Status: webhook.DeliveryFailing, Attempts: 2},
	}
	if !slices.Equal(page[0].Deliveries, want) {
		t.Fatalf("deliveries %+v, want %+v", page[0].Deliveries, want)
	}
	yes, no := true, false
	if got := eventIDs(t, fx.store, readmodel.EventFilter{Delivered: &no}, 10); !slices.Equal(got, []string{a.ID}) {
		t.Fatalf("undelivered: %v", got)
	}
	if got := eventIDs(t, fx.store, readmodel.EventFilter{InvoiceID: a.Invoice.ID, Delivered: &no}, 10); !slices.Equal(got, []string{a.ID}) {
		t.Fatalf("the invoice's undelivered: %v", got)
	}
	if got := eventIDs(t, fx.store, readmodel.EventFilter{Delivered: &yes}, 10); !slices.Equal(got, []string{b.ID}) {
		t.Fatalf("delivered: %v", got)
	}
}
