package dispatcher

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/netguard"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

func TestASlowEndpointDoesNotDelayHealthyOnes(t *testing.T) {
	f := newFixture(t)
	release := make(chan struct{})
	slow := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		select { // hangs until the test ends
		case <-release:
		case <-r.Context().Done():
		}
	})
	healthy := newReceiver(t, nil)
	slowSub := f.subscribe(t, slow.URL)
	fastSub := f.subscribe(t, healthy.URL)
	f.start(t, Config{Workers: 4, MaxInFlightPerSubscription: 2, Timeout: time.Minute})
	t.Cleanup(func() { close(release) }) // runs before the dispatcher stops

	var eventIDs []string
	for range 5 {
		for _, ev := range f.invoiceEvents(t) {
			eventIDs = append(eventIDs, ev.ID)
		}
	}
	// Every healthy delivery completes while the slow endpoint still holds
	// its attempts: with 4 workers, only isolation makes this reachable.
	for _, id := range eventIDs {
		f.awaitDelivery(t, id, fastSub.ID, webhook.DeliveryDelivered)
	}
	if n := len(slow.requests()); n > 2 {
		t.Fatalf("slow endpoint has %d attempts under way, cap is 2", n)
	}
	// The attempts under way have no record yet; the deliveries put off
	// show as pending while they wait.
	natstest.Eventually(t, 10*time.Second, "put-off deliveries recorded as pending", func() bool {
		pending := 0
		for _, id := range eventIDs {
			d, ok := f.delivery(t, slowSub.ID, webhook.DeliveryID(id, slowSub.ID))
			if ok && d.Status == webhook.DeliveryDelivered {
				t.Fatal("the slow endpoint cannot have answered")
			}
			if ok && d.Status == webhook.DeliveryPending {
				pending++
			}
		}
		return pending == len(eventIDs)-2
	})
}

func TestRepeatedFanOutNeitherLosesNorDoubles(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, nil)
	sub := f.subscribe(t, rc.URL)
	d := f.start(t, Config{})
	evs := f.invoiceEvents(t)
	for _, ev := range evs {
		f.awaitDelivery(t, ev.ID, sub.ID, webhook.DeliveryDelivered)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// As after a crash mid-fan-out, well past the duplicate window: the
	// recreated consumer fans every event out again.
	if err := f.js.DeleteConsumer(ctx, "INVOICES", FanOutConsumer); err != nil {
		t.Fatal(err)
	}
	before := f.firstTasks(t)
	f.start(t, Config{})
	natstest.Eventually(t, 15*time.Second, "fan-out caught up", func() bool {
		info, err := f.js.Consumer(ctx, "INVOICES", FanOutConsumer)
		if err != nil {
			return false
		}
		ci, err := info.Info(ctx)
		return err == nil && ci.NumPending == 0 && ci.NumAckPending == 0
	})
	if after := f.firstTasks(t); after != before || after != uint64(len(evs)) {
		t.Fatalf("tasks: %d before, %d after, want %d", before, after, len(evs))
	}
	if n := len(rc.requests()); n != len(evs) {
		t.Fatalf("receiver got %d webhooks for %d events", n, len(evs))
	}
}

func TestRotationOverlapSignsWithBothSecrets(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, nil)
	sub := f.subscribe(t, rc.URL, webhook.EventInvoiceCreated)
	oldSecret := sub.Secrets[0].Value
	newSecret, _ := webhook.NewSecret()
	sub.Rotate(webhook.Secret{Value: newSecret, CreatedAt: time.Now()}, time.Now(), time.Hour)
	f.putSubscription(t, sub)
	f.start(t, Config{})
	ev := f.invoiceEvents(t)[0]
	f.awaitDelivery(t, ev.ID, sub.ID, webhook.DeliveryDelivered)
	r := rc.requests()[0]
	for _, secret := range []string{oldSecret, newSecret} {
		v, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Verify(r.body, r.header); err != nil {
			t.Fatalf("secret %s…: %v", secret[:10], err)
		}
	}
}

func TestDeletedSubscriptionEndsItsDeliveries(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	sub := f.subscribe(t, rc.URL, webhook.EventInvoiceCreated)
	f.start(t, Config{Schedule: webhook.Schedule{2 * time.Second}}) // the retry comes after the delete
	ev := f.invoiceEvents(t)[0]
	f.awaitDelivery(t, ev.ID, sub.ID, webhook.DeliveryFailing)
	if err := f.subs.Delete(context.Background(), sub.ID); err != nil {
		t.Fatal(err)
	}
	d := f.awaitDelivery(t, ev.ID, sub.ID, webhook.DeliveryDead)
	if d.Reason != "the subscription was deleted" || len(d.Attempts) != 1 {
		t.Fatalf("%+v", d)
	}
}

func TestCrashMidFanOutNeitherLosesNorDoubles(t *testing.T) {
	f := newFixture(t)
	rcA, rcB := newReceiver(t, nil), newReceiver(t, nil)
	subA := f.subscribe(t, rcA.URL, webhook.EventInvoiceCreated)
	subB := f.subscribe(t, rcB.URL, webhook.EventInvoiceCreated)
	var crashes atomic.Int32
	d, err := New(f.js, f.subs, f.deliveries, f.h.Ending(f.js), Config{Schedule: testSchedule, Targets: netguard.Policy{AllowPrivate: true}, Secrets: f.keys})
	if err != nil {
		t.Fatal(err)
	}
	d.afterEnqueue = func() {
		if crashes.Add(1) == 1 {
			panic("crash after the first task of a fan-out")
		}
	}
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Stop(context.Background()) })

	ev := f.invoiceEvents(t)[0]
	f.awaitDelivery(t, ev.ID, subA.ID, webhook.DeliveryDelivered)
	f.awaitDelivery(t, ev.ID, subB.ID, webhook.DeliveryDelivered)
	if crashes.Load() < 2 {
		t.Fatal("the fan-out never crashed and ran again")
	}
	if n := f.firstTasks(t); n != 2 || len(rcA.requests()) != 1 || len(rcB.requests()) != 1 {
		t.Fatalf("%d tasks, %d and %d webhooks; want 2, 1 and 1", n, len(rcA.requests()), len(rcB.requests()))
	}
}
