package client_test

import (
	"context"
	"errors"
	"testing"

	"github.com/invoiced/invoiced/client"
)

// TestSubscriptionOrdering creates a subscription ordered per invoice,
// reads it back, changes it to none and back, and sees a subscription made
// without ordering shown as none.
func TestSubscriptionOrdering(t *testing.T) {
	c, ctx := newClient(t), testContext(t)
	recv := newReceiver(t)
	create := func(params client.SubscriptionParams) (*client.Subscription, error) {
		sub, err := c.CreateSubscription(ctx, params)
		if err == nil {
			// Deleted, so later tests' invoices make no deliveries to a
			// receiver that is gone, and no delivery.dead of them.
			t.Cleanup(func() {
				if err := c.DeleteSubscription(context.Background(), sub.ID); err != nil {
					t.Error(err)
				}
			})
		}
		return sub, err
	}
	sub, err := create(client.SubscriptionParams{URL: recv.URL, Ordering: client.OrderingPerInvoice})
	if err != nil || sub.Ordering != client.OrderingPerInvoice {
		t.Fatalf("created: %+v, %v", sub, err)
	}
	got, err := c.GetSubscription(ctx, sub.ID)
	if err != nil || got.Ordering != client.OrderingPerInvoice {
		t.Fatalf("get: %+v, %v", got, err)
	}

	desc := "still ordered"
	kept, err := c.UpdateSubscription(ctx, sub.ID, client.SubscriptionUpdateParams{Description: &desc})
	if err != nil || kept.Ordering != client.OrderingPerInvoice {
		t.Fatalf("another change: %+v, %v", kept, err)
	}
	for _, want := range []client.Ordering{client.OrderingNone, client.OrderingPerInvoice} {
		changed, err := c.UpdateSubscription(ctx, sub.ID, client.SubscriptionUpdateParams{Ordering: &want})
		if err != nil || changed.Ordering != want {
			t.Fatalf("changed to %s: %+v, %v", want, changed, err)
		}
	}

	plain, err := create(client.SubscriptionParams{URL: recv.URL})
	if err != nil || plain.Ordering != client.OrderingNone {
		t.Fatalf("created without ordering: %+v, %v", plain, err)
	}
	bad := client.Ordering("per_customer")
	_, err = c.UpdateSubscription(ctx, plain.ID, client.SubscriptionUpdateParams{Ordering: &bad})
	var ae *client.Error
	if !errors.Is(err, client.ErrInvalidRequest) || !errors.As(err, &ae) || ae.Field != "ordering" {
		t.Fatalf("an unknown ordering: %v", err)
	}
}
