package broker_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestRollingForwardKeepsSurvivorsNearTheEnd leaves a pending retry and a
// live delivery record behind many removed messages, and checks that
// compaction moves both to the end of their streams unchanged, leaves a
// settled record alone, and that the moved retry still fires, once.
func TestRollingForwardKeepsSurvivorsNearTheEnd(t *testing.T) {
	fx := newCompactFixture(t)
	fx.c = broker.NewCompactor(fx.js, broker.Compaction{InvoicesAfter: time.Millisecond, TasksAfter: time.Millisecond,
		RollAfter: 10, Processor: processor, FanOut: fanOut, Delivery: delivery})
	ctx := context.Background()

	scheduleSubject := webhook.ScheduleSubject("sub", "d1")
	hdr := nats.Header{}
	hdr.Set(jetstream.ScheduleHeader, "@at "+time.Now().Add(3*time.Second).UTC().Format(time.RFC3339Nano))
	hdr.Set(jetstream.ScheduleTargetHeader, webhook.RetryTaskSubject("sub", "d1"))
	hdr.Set("Invoiced-Request-Id", "req-1")
	old := fx.publish(scheduleSubject, hdr)
	live := record(t, "d1", webhook.DeliveryFailing)
	liveRev, err := fx.h.Deliveries.Create(ctx, "d1", live)
	if err != nil {
		t.Fatal(err)
	}
	settledRev, err := fx.h.Deliveries.Create(ctx, "d2", record(t, "d2", webhook.DeliveryDelivered))
	if err != nil {
		t.Fatal(err)
	}
	for n := range 30 { // handled tasks, and live records that left
		fx.publish(webhook.TaskSubject("sub", invoice(n)), nil)
		if _, err := fx.h.Deliveries.Put(ctx, invoice(n), live); err != nil {
			t.Fatal(err)
		}
		if err := fx.h.LiveDeliveries.Purge(ctx, jetstream.WithPurgeSubject(webhook.LiveSubject(invoice(n)))); err != nil {
			t.Fatal(err)
		}
	}
	fx.ack(delivery, 30)
	_, wh := fx.settled()

	moved, err := fx.h.Webhooks.GetLastMsgForSubject(ctx, scheduleSubject)
	if err != nil {
		t.Fatal(err)
	}
	if moved.Sequence <= old || wh.FirstSeq != moved.Sequence || wh.Msgs != 1 {
		t.Fatalf("retry at %d (was %d), stream %+v: want it alone, moved to the end", moved.Sequence, old, wh)
	}
	for _, h := range []string{jetstream.ScheduleHeader, jetstream.ScheduleTargetHeader, "Invoiced-Request-Id"} {
		if moved.Header.Get(h) != hdr.Get(h) {
			t.Errorf("moved retry's %s = %q, want %q", h, moved.Header.Get(h), hdr.Get(h))
		}
	}
	if e, err := fx.h.Deliveries.Get(ctx, "d1"); err != nil || e.Revision() <= liveRev || string(e.Value()) != string(live) {
		t.Fatalf("live record: %v, %v; want it unchanged past revision %d", e, err, liveRev)
	}
	if e, err := fx.h.Deliveries.Get(ctx, "d2"); err != nil || e.Revision() != settledRev {
		t.Fatalf("settled record: %v, %v; want it left at revision %d", e, err, settledRev)
	}

	retry := webhook.RetryTaskSubject("sub", "d1")
	natstest.Eventually(t, 10*time.Second, "the moved retry fires", func() bool {
		_, n := natstest.SubjectCounts(t, fx.h.Webhooks, retry)
		return n > 0
	})
	if _, n := natstest.SubjectCounts(t, fx.h.Webhooks, scheduleSubject); n != 0 {
		t.Fatalf("%d schedules left after it fired", n)
	}
	if _, n := natstest.SubjectCounts(t, fx.h.Webhooks, retry); n != 1 {
		t.Fatalf("the retry fired %d times", n)
	}
}

// record returns delivery id's record with status, as JSON.
func record(t testing.TB, id, status string) []byte {
	t.Helper()
	b, err := json.Marshal(webhook.Delivery{ID: id, SubscriptionID: "sub", Status: status})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
