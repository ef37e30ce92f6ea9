package dispatcher

import (
	"context"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/internal/netguard"
	"github.com/invoiced/invoiced/internal/webhook"
)

func TestABlockedTargetIsAFailedAttemptWithTheReason(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, nil) // on loopback, which the strict policy refuses
	sub := f.subscribe(t, rc.URL, webhook.EventInvoiceCreated)
	d, err := New(f.js, f.subs, f.deliveries, f.tasks, Config{Schedule: testSchedule, Targets: netguard.Policy{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Stop(context.Background()) })
	ev := f.invoiceEvents(t)[0]
	rec := f.awaitDelivery(t, ev.ID, sub.ID, webhook.DeliveryDead)
	for _, a := range rec.Attempts {
		if a.HTTPStatus != 0 || !strings.Contains(a.Error, "loopback") {
			t.Fatalf("attempt %+v", a)
		}
	}
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("the blocked receiver got %d requests", n)
	}
}
