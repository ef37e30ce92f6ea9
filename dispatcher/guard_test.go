package dispatcher

import (
	"context"
	"testing"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/netguard"
)

func TestABlockedTargetIsAFailedAttemptWithTheReason(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, nil) // on loopback, which the strict policy refuses
	sub := f.subscribe(t, rc.URL, webhook.EventInvoiceCreated)
	d, err := New(f.js, f.subs, f.deliveries, f.h.Ending(f.js), Config{Schedule: testSchedule, Targets: netguard.Policy{}, Secrets: f.keys})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Stop(context.Background()) })
	ev := f.invoiceEvents(t)[0]
	rec := f.awaitDelivery(t, ev.ID, sub.ID, webhook.DeliveryDead)
	if len(rec.Attempts) != len(testSchedule)+1 {
		t.Fatalf("%d attempts, want %d", len(rec.Attempts), len(testSchedule)+1)
	}
	for _, a := range rec.Attempts {
		if a.HTTPStatus != 0 || a.Error != "blocked: the target is a loopback address" {
			t.Fatalf("attempt %+v", a)
		}
	}
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("the blocked receiver got %d requests", n)
	}
}

func TestPlainHTTPIsRefusedWhenHTTPSIsRequired(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, nil)
	sub := f.subscribe(t, rc.URL, webhook.EventInvoiceCreated) // stored before the rule
	f.start(t, Config{RequireHTTPS: true})
	ev := f.invoiceEvents(t)[0]
	rec := f.awaitDelivery(t, ev.ID, sub.ID, webhook.DeliveryDead)
	if rec.Attempts[0].Error != "blocked: plain http is refused on this service" || len(rc.requests()) != 0 {
		t.Fatalf("attempt %+v, %d requests", rec.Attempts[0], len(rc.requests()))
	}
}
