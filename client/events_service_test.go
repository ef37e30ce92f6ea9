package client_test

import (
	"errors"
	"iter"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/client"
)

// TestEventsCatchUpAfterMissedWebhooks fails every webhook, then finds the
// events that were not delivered, and catches up by listing every event
// since the start: each of the invoices' events once, with what its
// deliveries did.
func TestEventsCatchUpAfterMissedWebhooks(t *testing.T) {
	c, ctx := newClient(t), testContext(t)
	start := time.Now().Add(-time.Second)
	recv := newReceiver(t)
	recv.setFailing(true)
	subscribe(t, c, recv)
	var ids []string
	for range 3 {
		inv, err := c.CreateInvoice(ctx, client.InvoiceParams{CustomerID: "cust_events", AmountCents: 900})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, inv.ID)
	}
	ours := func(params client.EventListParams) map[string]client.EventRecord {
		t.Helper()
		got := map[string]client.EventRecord{}
		for e, err := range c.ListEvents(ctx, params) {
			if err != nil {
				t.Fatal(err)
			}
			if _, again := got[e.ID]; again {
				t.Fatalf("event %s listed twice", e.ID)
			}
			if slices.Contains(ids, e.InvoiceID) {
				got[e.ID] = e
			}
		}
		return got
	}
	no := false
	eventually(t, 20*time.Second, "every event undelivered", func() bool {
		return len(ours(client.EventListParams{DeliverySuccess: &no, Limit: 2})) == 2*len(ids)
	})
	caught := ours(client.EventListParams{Since: start, Limit: 3})
	if len(caught) != 2*len(ids) {
		t.Fatalf("caught up on %d events, want %d", len(caught), 2*len(ids))
	}
	for id, e := range caught {
		if e.Data.ID != e.InvoiceID || e.Timestamp.Before(start) || len(e.Deliveries) != 1 ||
			e.Deliveries[0].Status == client.DeliveryDelivered || e.Deliveries[0].Attempts < 1 {
			t.Fatalf("event %s: %+v", id, e)
		}
	}

	var history []client.EventRecord
	for e, err := range c.ListInvoiceEvents(ctx, ids[0], client.EventListParams{}) {
		if err != nil {
			t.Fatal(err)
		}
		history = append(history, e)
	}
	if len(history) != 2 || history[0].Type != client.EventInvoiceProcessed || history[1].Type != client.EventInvoiceCreated {
		t.Fatalf("the invoice's history: %+v", history)
	}
	if history[1].Data.Status != client.InvoiceCreated || history[0].Data.Status != client.InvoiceProcessed {
		t.Fatalf("the invoice's history: %+v", history)
	}
	page, err := c.ListEventsPage(ctx, client.EventListParams{InvoiceID: ids[0], Limit: 1})
	if err != nil || !page.HasMore || len(page.Data) != 1 || page.Data[0].ID != history[0].ID {
		t.Fatalf("a page of one: %+v, %v", page, err)
	}
	if err := firstError(c.ListInvoiceEvents(ctx, uuid.NewString(), client.EventListParams{})); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("an unknown invoice's events: %v", err)
	}
	if err := firstError(c.ListEvents(ctx, client.EventListParams{Type: "invoice.paid"})); !errors.Is(err, client.ErrInvalidRequest) {
		t.Fatalf("an unknown type: %v", err)
	}
}

// firstError returns the first error list yields, or nil for none.
func firstError(list iter.Seq2[client.EventRecord, error]) error {
	for _, err := range list {
		if err != nil {
			return err
		}
	}
	return nil
}
