package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/invoiced/invoiced/internal/testing/statetest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// racingTasks is the real WEBHOOKS stream, with a retry scheduled by
// another worker right after End lists the waiting deliveries.
type racingTasks struct {
	jetstream.Stream
	afterInfo func()
}

func (r racingTasks) Info(ctx context.Context, opts ...jetstream.StreamInfoOpt) (*jetstream.StreamInfo, error) {
	info, err := r.Stream.Info(ctx, opts...)
	r.afterInfo()
	return info, err
}

func TestEndKeepsARetryScheduledWhileItRuns(t *testing.T) {
	ctx := context.Background()
	_, js := natstest.Connect(t, natstest.Start(t, natstest.Options{}))
	h := statetest.Streams(t, js, broker.Streams{})
	tasks, deliveries := h.Webhooks, h.Deliveries
	schedule := func(deliveryID string) {
		t.Helper()
		rec, _ := json.Marshal(webhook.Delivery{ID: deliveryID, SubscriptionID: "sub", Status: webhook.DeliveryFailing, Attempts: []webhook.Attempt{}})
		if _, err := deliveries.Put(ctx, deliveryID, rec); err != nil {
			t.Fatal(err)
		}
		msg := nats.NewMsg(webhook.ScheduleSubject("sub", deliveryID))
		msg.Data = []byte(`{}`)
		msg.Header.Set(jetstream.ScheduleHeader, "@at "+time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano))
		msg.Header.Set(jetstream.ScheduleTargetHeader, webhook.RetryTaskSubject("sub", deliveryID))
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	schedule("listed")
	e := h.Ending(js)
	e.Tasks = racingTasks{Stream: tasks, afterInfo: func() { schedule("late") }}
	ended, err := e.End(ctx, "sub", "disabled", time.Now())
	if err != nil || ended != 1 {
		t.Fatalf("End = %d, %v; want 1 ended", ended, err)
	}
	for id, wantKept := range map[string]bool{"listed": false, "late": true} {
		_, err := tasks.GetLastMsgForSubject(ctx, webhook.ScheduleSubject("sub", id))
		if kept := err == nil; kept != wantKept {
			t.Errorf("schedule of %q kept = %v (err %v), want %v", id, kept, err, wantKept)
		}
	}
	// The ended delivery left the live bucket for its settled record; the
	// late one is still live.
	if _, err := deliveries.Get(ctx, "listed"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("the ended delivery is still live: %v", err)
	}
	if _, err := deliveries.Get(ctx, "late"); err != nil {
		t.Errorf("the late delivery: %v", err)
	}
	d, ok, err := e.Settler.Settled(ctx, "sub", "listed")
	if err != nil || !ok || d.Status != webhook.DeliveryDead || d.Reason != "disabled" {
		t.Errorf("settled record %+v, %v, %v; want dead, disabled", d, ok, err)
	}
}
