package client_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/client"
)

// TestFiltersSecretsAndHealth uses what the lists, subscriptions and their
// health offer beyond the basics: creation-time and invoice filters, a
// secret given at creation, and a subscription's recent deliveries.
func TestFiltersSecretsAndHealth(t *testing.T) {
	c, ctx := newClient(t), testContext(t)
	customer := "cust_filters_" + uuid.NewString()
	first, err := c.CreateInvoice(ctx, client.InvoiceParams{CustomerID: customer, AmountCents: 1})
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.CreateInvoice(ctx, client.InvoiceParams{CustomerID: customer, AmountCents: 2})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for inv, err := range c.ListInvoices(ctx, client.InvoiceListParams{CustomerID: customer, CreatedAfter: first.CreatedAt}) {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, inv.ID)
	}
	if len(listed) != 1 || listed[0] != second.ID {
		t.Fatalf("created after the first: %v, want the second alone (%s)", listed, second.ID)
	}

	recv := newReceiver(t)
	const given = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	sub, err := c.CreateSubscription(ctx, client.SubscriptionParams{URL: recv.URL, Secret: given,
		EventTypes: []client.EventType{client.EventInvoiceCreated}})
	if err != nil || sub.Secret != given {
		t.Fatalf("subscribe with a secret: %+v, %v", sub, err)
	}
	recv.accept(t, given)
	third, err := c.CreateInvoice(ctx, client.InvoiceParams{CustomerID: customer, AmountCents: 3})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "the third invoice's delivery listed by invoice", func() bool {
		n := 0
		for d, err := range c.ListDeliveries(ctx, client.DeliveryListParams{InvoiceID: third.ID, SubscriptionID: sub.ID}) {
			if err != nil {
				t.Fatal(err)
			}
			if d.Status == client.DeliveryDelivered {
				n++
			}
		}
		return n == 1
	})
	got, err := c.GetSubscription(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r := got.Health.Recent; got.Health.Failing || r == nil || r.Deliveries != 1 || r.Delivered != 1 || r.SuccessRate == nil || *r.SuccessRate != 1 {
		t.Fatalf("health %+v, recent %+v", got.Health, got.Health.Recent)
	}
}
