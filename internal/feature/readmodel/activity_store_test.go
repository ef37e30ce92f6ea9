package readmodel_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// totals sums the minutes of an Activity.
func totals(ms []readmodel.Minute) readmodel.Minute {
	var t readmodel.Minute
	for _, m := range ms {
		t.Accepted, t.Processed, t.Failed = t.Accepted+m.Accepted, t.Processed+m.Processed, t.Failed+m.Failed
		t.Success, t.Failure, t.Error, t.Dead = t.Success+m.Success, t.Failure+m.Failure, t.Error+m.Error, t.Dead+m.Dead
	}
	return t
}

// recent returns a delivery to sub with one attempt per status, started
// now.
func recent(sub string, n int, status string, answers ...int) webhook.Delivery {
	d := delivery(sub, n, status, 0)
	now := time.Now().UTC()
	d.CreatedAt, d.UpdatedAt = now, now
	for i, answer := range answers {
		d.Attempts = append(d.Attempts, webhook.Attempt{Number: i + 1, Trigger: webhook.TriggerScheduled, StartedAt: now,
			HTTPStatus: answer, DurationMS: 12})
	}
	return d
}

func TestActivityCountsWhatTheStoreAppliesOnce(t *testing.T) {
	fx := newFixture(t)
	for i := range 5 {
		key := fmt.Sprint("activity-", i)
		inv := events.Invoice{ID: events.InvoiceID("t", "POST /invoices", key), CustomerID: "c", AmountCents: 1, Currency: "USD",
			CreatedAt: time.Now().UTC()}
		fx.publish(events.NewRequested(inv, events.Idempotency{Caller: "t", Endpoint: "POST /invoices", Key: key, RequestHash: "h"}))
		switch i {
		case 0, 1:
			fx.publish(events.NewProcessed(inv, time.Now().UTC()))
		case 2:
			fx.publish(events.NewFailed(inv, time.Now().UTC(), "no"))
		}
	}
	fx.caughtUp()

	// One delivery in three versions, an older one again, and its settled
	// copy; another that goes dead after one attempt.
	first, second := recent("sub-a", 1, webhook.DeliveryFailing, 500), recent("sub-a", 1, webhook.DeliveryFailing, 500, 0)
	third := recent("sub-a", 1, webhook.DeliveryDelivered, 500, 0, 200)
	fx.live(first)
	fx.holds(first)
	fx.live(second)
	fx.holds(second)
	fx.live(first)
	fx.settle(third)
	fx.holds(third)
	failing, dead := recent("sub-b", 2, webhook.DeliveryFailing, 503), recent("sub-b", 2, webhook.DeliveryDead, 503)
	fx.live(failing)
	fx.holds(failing)
	fx.settle(dead)
	fx.holds(dead)
	fx.settle(dead) // a repeat of the settled record changes nothing

	act := fx.store.Activity()
	want := readmodel.Minute{Accepted: 5, Processed: 2, Failed: 1, Success: 1, Failure: 2, Error: 1, Dead: 1}
	natstest.Eventually(t, 10*time.Second, "the activity counted", func() bool { return totals(act.Minutes(readmodel.Scope{})) == want })
	if a, b := totals(act.Minutes(readmodel.Scope{Subscription: "sub-a"})), totals(act.Minutes(readmodel.Scope{Subscription: "sub-b"})); a != (readmodel.Minute{Success: 1, Failure: 1, Error: 1}) ||
		b != (readmodel.Minute{Failure: 1, Dead: 1}) {
		t.Fatalf("sub-a %+v, sub-b %+v", a, b)
	}
	for _, m := range act.Minutes(readmodel.Scope{Subscription: "sub-a"}) {
		if m.Attempts() > 0 && (m.P50 != 12*time.Millisecond || m.P99 != 12*time.Millisecond) {
			t.Fatalf("latency of %+v, want 12ms", m)
		}
	}

	// Opened again, the store resumes where it stopped: nothing applied
	// again, so nothing counted again, and counting starts anew.
	fx.close()
	reopened := time.Now()
	fx.open()
	fx.caughtUp()
	fx.holds(third)
	if got := totals(fx.store.Activity().Minutes(readmodel.Scope{})); got != (readmodel.Minute{}) || fx.store.Activity().Since().Before(reopened) {
		t.Fatalf("after a restart: %+v since %s", got, fx.store.Activity().Since())
	}
}
