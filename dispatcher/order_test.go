package dispatcher

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/consume"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/invoiced/invoiced/internal/testing/statetest"
	"github.com/invoiced/invoiced/internal/tool/webhookrecv"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestOrderedDeliveryPerInvoice publishes each of 1,000 invoices' two
// events together, so both are fanned out at once, to an endpoint ordered
// per invoice that fails the first attempt of every webhook: every
// invoice.created is accepted before its invoice's outcome is first sent.
func TestOrderedDeliveryPerInvoice(t *testing.T) {
	f := newFixture(t)
	recv, err := webhookrecv.Start(webhookrecv.Config{FailFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = recv.Close() })
	sub := f.subscribeOrdered(t, recv.URL(), webhook.EventTypes...)
	if err := recv.SetSecret(sub.Secrets[0].Value); err != nil {
		t.Fatal(err)
	}
	f.start(t, Config{})
	const n = 1000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.NewString()
		f.publishInvoice(t, ids[i], i%2 == 1)
	}
	natstest.Eventually(t, 2*time.Minute, "both webhooks of every invoice accepted", func() bool {
		for _, id := range ids {
			if len(recv.Accepted(id)) < 2 {
				return false
			}
		}
		return true
	})
	if late := recv.OutOfOrder(); len(late) > 0 {
		t.Fatalf("%d of %d invoices had their outcome sent before their invoice.created was accepted, first %s", len(late), n, late[0])
	}
	if got := recv.Counts().Injected; got < 2*n {
		t.Fatalf("%d first attempts failed, want every one of %d", got, 2*n)
	}
}

// TestAHeldInvoiceHoldsOnlyItself fails one invoice's invoice.created with
// an hour before its retry: that invoice's outcome waits, pending, and
// another invoice's events go through; once the failing delivery succeeds
// by hand, the outcome follows at once.
func TestAHeldInvoiceHoldsOnlyItself(t *testing.T) {
	f := newFixture(t)
	stuck := uuid.NewString()
	stuckCreated := events.EventID(stuck, events.InvoiceRequested)
	var healed atomic.Bool
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("webhook-id") == stuckCreated && !healed.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	sub := f.subscribeOrdered(t, rc.URL, webhook.EventTypes...)
	f.start(t, Config{Schedule: webhook.Schedule{time.Hour}})
	stuckEvents := f.publishInvoice(t, stuck, false)
	other := f.publishInvoice(t, uuid.NewString(), true)

	f.awaitDelivery(t, other[1].ID, sub.ID, webhook.DeliveryDelivered)
	failing := f.awaitDelivery(t, stuckEvents[0].ID, sub.ID, webhook.DeliveryFailing)
	held := f.awaitDelivery(t, stuckEvents[1].ID, sub.ID, webhook.DeliveryPending)
	if !strings.Contains(held.Reason, failing.ID) {
		t.Fatalf("the held delivery's reason %q does not name %s", held.Reason, failing.ID)
	}
	if n := countRequests(rc, stuckEvents[1].ID); n != 0 {
		t.Fatalf("the held outcome was sent %d times", n)
	}

	healed.Store(true)
	data, _ := json.Marshal(failing.ManualTask())
	if _, err := f.js.PublishMsg(context.Background(), &nats.Msg{Subject: webhook.ManualTaskSubject(sub.ID, failing.ID), Data: data},
		jetstream.WithMsgID(failing.ManualMsgID())); err != nil {
		t.Fatal(err)
	}
	// Its next look is an hour away: only the release can send it now.
	f.awaitDelivery(t, stuckEvents[1].ID, sub.ID, webhook.DeliveryDelivered)
	assertCreatedFirst(t, rc, stuckEvents)
}

// TestADeadDeliveryReleasesTheNext fails every invoice.created until it is
// dead: the invoice's outcome is then delivered, after the last attempt.
func TestADeadDeliveryReleasesTheNext(t *testing.T) {
	f := newFixture(t)
	inv := uuid.NewString()
	created := events.EventID(inv, events.InvoiceRequested)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("webhook-id") == created {
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	sub := f.subscribeOrdered(t, rc.URL, webhook.EventTypes...)
	f.start(t, Config{})
	evs := f.publishInvoice(t, inv, true)
	f.awaitDelivery(t, evs[0].ID, sub.ID, webhook.DeliveryDead)
	f.awaitDelivery(t, evs[1].ID, sub.ID, webhook.DeliveryDelivered)
	assertCreatedFirst(t, rc, evs)
}

// TestHeldBehind checks what an outcome at an ordered subscription waits
// for when its invoice.created has no delivery yet: that delivery while its
// event is still to be fanned out, and nothing when the subscription does
// not want it, there is no such event, or the outcome is no outcome.
func TestHeldBehind(t *testing.T) {
	f := newFixture(t)
	d, err := New(f.js, f.subs, f.deliveries, f.h.Ending(f.js), Config{Secrets: f.keys})
	if err != nil {
		t.Fatal(err)
	}
	d.invoices = f.h.Invoices
	ctx := context.Background()
	// Made, never consumed: nothing is fanned out.
	if _, err := consume.Ensure(ctx, f.js, events.StreamInvoices, d.FanOutConsumerConfig()); err != nil {
		t.Fatal(err)
	}
	ordered := f.subscribeOrdered(t, "http://127.0.0.1:1/", webhook.EventTypes...)
	outcomesOnly := f.subscribeOrdered(t, "http://127.0.0.1:1/", webhook.EventInvoiceProcessed)
	unordered := f.subscribe(t, "http://127.0.0.1:1/")
	evs := f.publishInvoice(t, uuid.NewString(), false)
	for _, tc := range []struct {
		name string
		sub  webhook.Subscription
		ev   events.Event
		held bool
	}{
		{"ordered", ordered, evs[1], true},
		{"ordered, the created itself", ordered, evs[0], false},
		{"without invoice.created", outcomesOnly, evs[1], false},
		{"unordered", unordered, evs[1], false},
		{"no such invoice", ordered, events.NewProcessed(events.Invoice{ID: uuid.NewString(), Currency: "USD"}, time.Now()), false},
	} {
		task, err := webhook.NewTask(tc.ev, webhook.EventTypeFor(tc.ev.Type), tc.sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		earlier, until, err := d.heldBehind(ctx, tc.sub, task)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if (earlier != "") != tc.held || (tc.held && (earlier != webhook.DeliveryID(evs[0].ID, tc.sub.ID) || !until.After(time.Now()))) {
			t.Fatalf("%s: held behind %q until %s, want held %t", tc.name, earlier, until, tc.held)
		}
	}
}

// TestAnOutcomeWhoseCreatedWasNeverDueGoesOn delivers an outcome to an
// ordered subscription made after its invoice was created, which never
// gets that invoice.created: once the event has been fanned out, there is
// nothing to wait for.
func TestAnOutcomeWhoseCreatedWasNeverDueGoesOn(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, nil)
	sub := f.subscribeOrdered(t, rc.URL, webhook.EventTypes...)
	created := sub.CreatedAt.Add(-time.Minute)
	req := events.NewRequested(events.Invoice{ID: uuid.NewString(), CustomerID: "cust", AmountCents: 100, Currency: "USD", CreatedAt: created},
		events.Idempotency{Caller: events.DefaultAccount, Endpoint: "POST /invoices", Key: "k", RequestHash: "h"})
	outcome := events.NewProcessed(req.Invoice, time.Now())
	statetest.Publish(t, f.js, req)
	statetest.Publish(t, f.js, outcome)
	f.start(t, Config{})
	f.awaitDelivery(t, outcome.ID, sub.ID, webhook.DeliveryDelivered)
	if n := countRequests(rc, req.ID); n != 0 {
		t.Fatalf("the invoice.created from before the subscription was sent %d times", n)
	}
}

// subscribeOrdered stores an enabled subscription ordered per invoice.
func (f *fixture) subscribeOrdered(t testing.TB, url string, types ...string) webhook.Subscription {
	t.Helper()
	s := f.subscribe(t, url, types...)
	s.Ordering = webhook.OrderingPerInvoice
	f.putSubscription(t, s)
	return s
}

// publishInvoice publishes invoice id's requested event and its outcome,
// failed or processed, and returns them.
func (f *fixture) publishInvoice(t testing.TB, id string, failed bool) []events.Event {
	t.Helper()
	req := events.NewRequested(events.Invoice{ID: id, CustomerID: "cust", AmountCents: 2500, Currency: "USD", CreatedAt: time.Now()},
		events.Idempotency{Caller: events.DefaultAccount, Endpoint: "POST /invoices", Key: id, RequestHash: "h"})
	outcome := events.NewProcessed(req.Invoice, time.Now())
	if failed {
		outcome = events.NewFailed(req.Invoice, time.Now(), "refused")
	}
	out := []events.Event{req, outcome}
	for _, ev := range out {
		statetest.Publish(t, f.js, ev)
	}
	return out
}

// countRequests counts the requests rc got for the webhook eventID.
func countRequests(rc *receiver, eventID string) int {
	n := 0
	for _, r := range rc.requests() {
		if r.header.Get("webhook-id") == eventID {
			n++
		}
	}
	return n
}

// assertCreatedFirst checks that every request rc got for evs[0], an
// invoice's invoice.created, came before the first for evs[1], its outcome.
func assertCreatedFirst(t testing.TB, rc *receiver, evs []events.Event) {
	t.Helper()
	var ids []string
	for _, r := range rc.requests() {
		ids = append(ids, r.header.Get("webhook-id"))
	}
	lastCreated, firstOutcome := slices.Index(ids, evs[0].ID), slices.Index(ids, evs[1].ID)
	for i, id := range ids {
		if id == evs[0].ID {
			lastCreated = i
		}
	}
	if lastCreated < 0 || firstOutcome < 0 || firstOutcome < lastCreated {
		t.Fatalf("requests by webhook-id %v: want every %s before the first %s", ids, evs[0].ID, evs[1].ID)
	}
}
