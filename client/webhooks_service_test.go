package client_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/client"
	"github.com/invoiced/invoiced/client/webhook"
	"github.com/invoiced/invoiced/events"
)

// subscribe creates a subscription for recv, which accepts its secret.
func subscribe(t *testing.T, c *client.Client, recv *receiver, types ...client.EventType) *client.Subscription {
	t.Helper()
	sub, err := c.CreateSubscription(testContext(t), client.SubscriptionParams{URL: recv.URL, EventTypes: types, Description: "client test"})
	if err != nil {
		t.Fatal(err)
	}
	recv.accept(t, sub.Secret)
	return sub
}

// awaitDelivery polls the delivery until cond holds of it.
func awaitDelivery(t *testing.T, c *client.Client, id, what string, cond func(*client.Delivery) bool) *client.Delivery {
	t.Helper()
	var d *client.Delivery
	eventually(t, 15*time.Second, "delivery "+id+" "+what, func() bool {
		var err error
		d, err = c.GetDelivery(testContext(t), id)
		if errors.Is(err, client.ErrNotFound) {
			return false // listed from its first attempt
		}
		if err != nil {
			t.Fatal(err)
		}
		return cond(d)
	})
	return d
}

// awaitEvent waits until recv has verified the event with the given ID.
func awaitEvent(t *testing.T, recv *receiver, eventID string) webhook.Event {
	t.Helper()
	var ev webhook.Event
	eventually(t, 15*time.Second, "event "+eventID+" received", func() bool {
		var ok bool
		ev, ok = recv.find(eventID)
		return ok
	})
	return ev
}

// TestSubscriptionLifecycle creates, reads, lists, updates, disables,
// enables and deletes a subscription.
func TestSubscriptionLifecycle(t *testing.T) {
	c, ctx := newClient(t), testContext(t)
	recv := newReceiver(t)
	sub := subscribe(t, c, recv, client.EventInvoiceProcessed, client.EventInvoiceFailed)
	if !strings.HasPrefix(sub.Secret, "whsec_") || sub.Status != client.SubscriptionEnabled || sub.URL != recv.URL ||
		!slices.Equal(sub.EventTypes, []client.EventType{client.EventInvoiceProcessed, client.EventInvoiceFailed}) ||
		sub.Account == "" || sub.Description != "client test" || sub.DisabledReason != "" {
		t.Fatalf("created: %+v", sub)
	}

	got, err := c.GetSubscription(ctx, sub.ID)
	if err != nil || got.ID != sub.ID || got.Secret != "" || !got.CreatedAt.Equal(sub.CreatedAt) {
		t.Fatalf("get: %+v %v", got, err)
	}
	listed := false
	for s, err := range c.ListSubscriptions(ctx, client.SubscriptionListParams{}) {
		if err != nil {
			t.Fatal(err)
		}
		listed = listed || s.ID == sub.ID
		if s.Secret != "" {
			t.Fatalf("a list shows a secret: %+v", s)
		}
	}
	if !listed {
		t.Fatal("the subscription is not listed")
	}

	disabled, err := c.UpdateSubscription(ctx, sub.ID, client.SubscriptionUpdateParams{
		Description: new("paused"), Status: new(client.SubscriptionDisabled),
	})
	if err != nil || disabled.Status != client.SubscriptionDisabled || disabled.DisabledReason == "" || disabled.Description != "paused" ||
		disabled.URL != sub.URL {
		t.Fatalf("disable: %+v %v", disabled, err)
	}
	if _, err := c.SendTestEvent(ctx, sub.ID, client.TestEventParams{}); !errors.Is(err, client.ErrConflict) {
		t.Fatalf("test event to a disabled subscription: %v", err)
	}
	if _, err := c.RecoverSubscription(ctx, sub.ID, client.RecoverParams{Since: sub.CreatedAt}); !errors.Is(err, client.ErrConflict) {
		t.Fatalf("recover a disabled subscription: %v", err)
	}
	enabled, err := c.UpdateSubscription(ctx, sub.ID, client.SubscriptionUpdateParams{Status: new(client.SubscriptionEnabled)})
	if err != nil || enabled.Status != client.SubscriptionEnabled || enabled.DisabledReason != "" || enabled.Description != "paused" {
		t.Fatalf("enable: %+v %v", enabled, err)
	}
	_, err = c.UpdateSubscription(ctx, sub.ID, client.SubscriptionUpdateParams{URL: new("ftp://example.com/hook")})
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Type != client.ErrInvalidRequest || apiErr.Field != "url" {
		t.Fatalf("bad URL: %v", err)
	}

	if err := c.DeleteSubscription(ctx, sub.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetSubscription(ctx, sub.ID); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if err := c.DeleteSubscription(ctx, sub.ID); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

// TestTestEventsAreSignedDeliveredAndLogged sends test events, verifies
// their signatures before and after a rotation, and follows them in the
// delivery log, retrying one.
func TestTestEventsAreSignedDeliveredAndLogged(t *testing.T) {
	c, ctx := newClient(t), testContext(t)
	recv := newReceiver(t)
	sub := subscribe(t, c, recv, client.EventInvoiceProcessed)

	te, err := c.SendTestEvent(ctx, sub.ID, client.TestEventParams{EventType: client.EventInvoiceFailed})
	if err != nil || te.EventType != client.EventInvoiceFailed || te.DeliveryID == "" || te.EventID == "" || te.InvoiceID == "" {
		t.Fatalf("test event: %+v %v", te, err)
	}
	ev := awaitEvent(t, recv, te.EventID)
	if ev.Type != client.EventInvoiceFailed || ev.Data.ID != te.InvoiceID || ev.Data.Status != client.InvoiceFailed ||
		ev.Data.CustomerID != "cust_test" || ev.Data.Metadata["test"] != "true" || ev.DeliveryID != te.DeliveryID ||
		ev.Attempt != 1 || ev.Timestamp.IsZero() || !ev.Test {
		t.Fatalf("received: %+v", ev)
	}
	d := awaitDelivery(t, c, te.DeliveryID, "delivered", func(d *client.Delivery) bool { return d.Status == client.DeliveryDelivered })
	if d.SubscriptionID != sub.ID || d.EventID != te.EventID || d.InvoiceID != te.InvoiceID || d.Payload == nil ||
		d.Payload.Type != client.EventInvoiceFailed || d.Payload.Data.ID != te.InvoiceID || !d.Payload.Test || len(d.Attempts) != 1 ||
		d.Attempts[0].Trigger != client.TriggerScheduled || d.Attempts[0].HTTPStatus != 204 || d.Attempts[0].URL != recv.URL {
		t.Fatalf("delivery: %+v", d)
	}

	before, err := c.RetryDelivery(ctx, te.DeliveryID)
	if err != nil || before.ID != te.DeliveryID {
		t.Fatalf("retry: %+v %v", before, err)
	}
	d = awaitDelivery(t, c, te.DeliveryID, "attempted again", func(d *client.Delivery) bool { return len(d.Attempts) == 2 })
	if d.Attempts[1].Trigger != client.TriggerManual || d.Status != client.DeliveryDelivered {
		t.Fatalf("after retry: %+v", d)
	}

	old := sub.Secret
	rotated, err := c.RotateSubscriptionSecret(ctx, sub.ID)
	if err != nil || rotated.ID != sub.ID || !strings.HasPrefix(rotated.Secret, "whsec_") || rotated.Secret == old {
		t.Fatalf("rotate: %+v %v", rotated, err)
	}
	ids := []string{te.DeliveryID}
	for _, secret := range []string{rotated.Secret, old} { // both sign while they overlap
		recv.accept(t, secret)
		te, err := c.SendTestEvent(ctx, sub.ID, client.TestEventParams{})
		if err != nil || te.EventType != client.EventInvoiceProcessed {
			t.Fatalf("test event after rotation: %+v %v", te, err)
		}
		awaitEvent(t, recv, te.EventID)
		awaitDelivery(t, c, te.DeliveryID, "delivered", func(d *client.Delivery) bool { return d.Status == client.DeliveryDelivered })
		ids = append([]string{te.DeliveryID}, ids...)
	}

	var listed []string
	for d, err := range c.ListDeliveries(ctx, client.DeliveryListParams{SubscriptionID: sub.ID, Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		if d.Payload != nil {
			t.Fatalf("a list shows a payload: %+v", d)
		}
		listed = append(listed, d.ID)
	}
	if !slices.Equal(listed, ids) {
		t.Fatalf("listed %v, want newest first %v", listed, ids)
	}
	page, err := c.ListDeliveriesPage(ctx, client.DeliveryListParams{SubscriptionID: sub.ID, EventType: client.EventInvoiceFailed})
	if err != nil || len(page.Data) != 1 || page.Data[0].ID != ids[2] || page.HasMore {
		t.Fatalf("failed events: %+v %v", page, err)
	}
	if _, err := c.ListDeliveriesPage(ctx, client.DeliveryListParams{Status: "lost"}); !errors.Is(err, client.ErrInvalidRequest) {
		t.Fatalf("unknown status: %v", err)
	}
}

// TestRecoverSubscription lets a receiver fail until its delivery is dead,
// then recovers it.
func TestRecoverSubscription(t *testing.T) {
	c, ctx := newClient(t), testContext(t)
	recv := newReceiver(t)
	recv.setFailing(true)
	sub := subscribe(t, c, recv)
	te, err := c.SendTestEvent(ctx, sub.ID, client.TestEventParams{})
	if err != nil || te.EventType != client.EventInvoiceCreated {
		t.Fatalf("test event: %+v %v", te, err)
	}
	dead := awaitDelivery(t, c, te.DeliveryID, "dead", func(d *client.Delivery) bool { return d.Status == client.DeliveryDead })
	if n := len(dead.Attempts); n == 0 || dead.Attempts[n-1].HTTPStatus != 500 {
		t.Fatalf("dead delivery: %+v", dead)
	}
	found := false
	for d, err := range c.ListDeliveries(ctx, client.DeliveryListParams{SubscriptionID: sub.ID, Status: client.DeliveryDead}) {
		if err != nil {
			t.Fatal(err)
		}
		found = found || d.ID == te.DeliveryID
	}
	if !found {
		t.Fatal("the dead delivery is not listed as dead")
	}

	if _, err := c.RecoverSubscription(ctx, sub.ID, client.RecoverParams{Since: time.Now().Add(time.Hour)}); !errors.Is(err, client.ErrInvalidRequest) {
		t.Fatalf("since in the future: %v", err)
	}
	recv.setFailing(false)
	res, err := c.RecoverSubscription(ctx, sub.ID, client.RecoverParams{Since: sub.CreatedAt})
	if err != nil || res.Recovered != 1 {
		t.Fatalf("recover: %+v %v", res, err)
	}
	awaitEvent(t, recv, te.EventID)
	d := awaitDelivery(t, c, te.DeliveryID, "delivered", func(d *client.Delivery) bool { return d.Status == client.DeliveryDelivered })
	if last := d.Attempts[len(d.Attempts)-1]; last.Trigger != client.TriggerManual || last.HTTPStatus != 204 {
		t.Fatalf("recovered delivery: %+v", d)
	}
}

// TestAnEd25519SubscriptionVerifiesWithItsPublicKey subscribes with
// ed25519 signing and verifies its webhook with the public key alone,
// before and after a rotation.
func TestAnEd25519SubscriptionVerifiesWithItsPublicKey(t *testing.T) {
	c, ctx := newClient(t), testContext(t)
	recv := newReceiver(t)
	sub, err := c.CreateSubscription(ctx, client.SubscriptionParams{URL: recv.URL, EventTypes: []client.EventType{client.EventInvoiceCreated},
		Signing: client.SigningEd25519})
	if err != nil {
		t.Fatal(err)
	}
	if sub.Signing != client.SigningEd25519 || sub.Secret != "" || len(sub.PublicKeys) != 1 || sub.PublicKeys[0].Curve != "Ed25519" {
		t.Fatalf("created: %+v", sub)
	}
	recv.accept(t, sub.PublicKeys[0].Key)
	inv, err := c.CreateInvoice(ctx, client.InvoiceParams{CustomerID: "cust_ed", AmountCents: 300})
	if err != nil {
		t.Fatal(err)
	}
	awaitEvent(t, recv, events.EventID(inv.ID, events.InvoiceRequested))
	rotated, err := c.RotateSubscriptionSecret(ctx, sub.ID)
	if err != nil || len(rotated.PublicKeys) != 2 || rotated.Secret != "" {
		t.Fatalf("rotated: %+v, %v", rotated, err)
	}
	keys, err := c.GetSubscriptionPublicKeys(ctx, sub.ID)
	if err != nil || len(keys) != 2 || keys[0].Key != rotated.PublicKeys[0].Key || keys[1].ExpiresAt.IsZero() {
		t.Fatalf("public keys: %+v, %v", keys, err)
	}
	recv.accept(t, keys[0].Key) // the new key alone
	inv, err = c.CreateInvoice(ctx, client.InvoiceParams{CustomerID: "cust_ed", AmountCents: 301})
	if err != nil {
		t.Fatal(err)
	}
	awaitEvent(t, recv, events.EventID(inv.ID, events.InvoiceRequested))
}

// TestOperationalWebhooksReachTheSubscriptionsThatAsk subscribes to
// delivery.dead and makes a delivery die at an endpoint that answers 410,
// and decodes what arrives.
func TestOperationalWebhooksReachTheSubscriptionsThatAsk(t *testing.T) {
	c, ctx := newClient(t), testContext(t)
	ops := newReceiver(t)
	opsSub, err := c.CreateSubscription(ctx, client.SubscriptionParams{URL: ops.URL,
		EventTypes: []client.EventType{client.EventDeliveryDead, client.EventSubscriptionDisabled}})
	if err != nil {
		t.Fatal(err)
	}
	ops.accept(t, opsSub.Secret)
	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) }))
	t.Cleanup(gone.Close)
	goneSub, err := c.CreateSubscription(ctx, client.SubscriptionParams{URL: gone.URL, EventTypes: []client.EventType{client.EventInvoiceCreated}})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := c.CreateInvoice(ctx, client.InvoiceParams{CustomerID: "cust_ops", AmountCents: 100})
	if err != nil {
		t.Fatal(err)
	}
	// The account's other endpoints, of other tests, may die too: only
	// what is about goneSub counts.
	var dead client.DeadDelivery
	var disabled client.DisabledSubscription
	eventually(t, 20*time.Second, "delivery.dead and subscription.disabled", func() bool {
		for _, ev := range ops.received() {
			switch ev.Type {
			case client.EventDeliveryDead:
				var d client.DeadDelivery
				if d, err = client.OperationalData[client.DeadDelivery](ev.Body); d.SubscriptionID == goneSub.ID {
					dead = d
				}
			case client.EventSubscriptionDisabled:
				var d client.DisabledSubscription
				if d, err = client.OperationalData[client.DisabledSubscription](ev.Body); d.ID == goneSub.ID {
					disabled = d
				}
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		return dead.ID != "" && disabled.ID != ""
	})
	if dead.SubscriptionID != goneSub.ID || dead.InvoiceID != inv.ID || dead.EventType != client.EventInvoiceCreated || dead.Attempts != 1 ||
		disabled.ID != goneSub.ID || disabled.DisabledReason == "" {
		t.Fatalf("dead %+v, disabled %+v", dead, disabled)
	}
	if _, err := client.OperationalData[client.DeadDelivery]([]byte(`{"type":"invoice.created","data":{}}`)); err == nil {
		t.Fatal("an invoice event decoded as operational")
	}
}
