package dispatcher

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/nats-io/nats.go/jetstream"
)

// TestSweepMovesWhatIsSettled leaves three live records: one settled, one
// failing whose delivery has a settled record too (its removal undone by a
// crash), and one failing alone. The sweep moves the first two out, each
// as its settled record, and keeps the third.
func TestSweepMovesWhatIsSettled(t *testing.T) {
	f := newFixture(t)
	d, err := New(f.js, f.subs, f.deliveries, f.h.Ending(f.js), Config{Secrets: f.keys})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now().UTC()
	record := func(status string, attempts int) webhook.Delivery {
		rec := webhook.Delivery{ID: uuid.NewString(), SubscriptionID: uuid.NewString(), EventType: webhook.EventInvoiceCreated,
			Status: status, CreatedAt: now, UpdatedAt: now, Body: json.RawMessage(`{}`)}
		for i := range attempts {
			rec.Attempts = append(rec.Attempts, webhook.Attempt{Number: i + 1, Trigger: webhook.TriggerScheduled, StartedAt: now})
		}
		data, _ := json.Marshal(rec)
		if _, err := f.deliveries.Put(ctx, rec.ID, data); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	settled := record(webhook.DeliveryDelivered, 1)
	leftBehind := record(webhook.DeliveryFailing, 1)
	done := leftBehind
	done.Status, done.Attempts = webhook.DeliveryDelivered, append(done.Attempts, webhook.Attempt{Number: 2, Trigger: webhook.TriggerScheduled})
	if err := d.ending.Settler.Finish(ctx, done, 0); err != nil {
		t.Fatal(err)
	}
	failing := record(webhook.DeliveryFailing, 1)

	if moved, err := d.sweepSettled(ctx); err != nil || moved != 2 {
		t.Fatalf("moved %d, %v; want 2", moved, err)
	}
	for _, rec := range []webhook.Delivery{settled, leftBehind} {
		if _, err := f.deliveries.Get(ctx, rec.ID); !errors.Is(err, jetstream.ErrKeyNotFound) {
			t.Fatalf("live record of %s: %v, want none", rec.ID, err)
		}
		got, ok, err := d.ending.Settler.Settled(ctx, rec.SubscriptionID, rec.ID)
		if err != nil || !ok || got.Status != webhook.DeliveryDelivered {
			t.Fatalf("settled record of %s: %+v %t %v", rec.ID, got, ok, err)
		}
	}
	if got, _, _ := d.ending.Settler.Settled(ctx, leftBehind.SubscriptionID, leftBehind.ID); len(got.Attempts) != 2 {
		t.Fatalf("the left-behind record replaced the settled one: %+v", got)
	}
	if _, err := f.deliveries.Get(ctx, failing.ID); err != nil {
		t.Fatalf("the failing delivery's live record: %v", err)
	}
}
