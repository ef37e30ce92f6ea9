package dispatcher

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/nats-io/nats.go"
)

func TestAWaitingRetryHoldsNoConsumerSlot(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	sub := f.subscribe(t, rc.URL, webhook.EventInvoiceCreated)
	f.start(t, Config{Schedule: webhook.Schedule{time.Hour}})
	ev := f.invoiceEvents(t)[0]
	d := f.awaitDelivery(t, ev.ID, sub.ID, webhook.DeliveryFailing)
	ctx := context.Background()
	natstest.Eventually(t, 10*time.Second, "the task settled while its retry waits", func() bool {
		cons, err := f.js.Consumer(ctx, webhook.StreamWebhooks, DeliveryConsumer)
		if err != nil {
			return false
		}
		info, err := cons.Info(ctx)
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0
	})
	if counts, _ := natstest.SubjectCounts(t, f.tasks, webhook.ScheduleSubject(sub.ID, d.ID)); counts[webhook.ScheduleSubject(sub.ID, d.ID)] != 1 {
		t.Fatalf("pending schedules: %v", counts)
	}
}

func TestAStaleTaskRestoresALostSchedule(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, nil)
	sub := f.subscribe(t, rc.URL, webhook.EventInvoiceCreated)
	ev := f.invoiceEvents(t)[0]
	task, err := webhook.NewTask(ev, webhook.EventInvoiceCreated, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	// As if the dispatcher recorded a failed first attempt and crashed
	// before scheduling the second: the record says failing, nothing waits.
	now := time.Now().UTC()
	next := now.Add(200 * time.Millisecond)
	rec := webhook.Delivery{
		ID: task.DeliveryID, SubscriptionID: sub.ID, EventID: ev.ID, EventType: task.EventType, InvoiceID: ev.Invoice.ID,
		Status: webhook.DeliveryFailing, NextAttemptAt: &next, CreatedAt: now, UpdatedAt: now, Body: task.Body,
		Attempts: []webhook.Attempt{{Number: 1, Trigger: webhook.TriggerScheduled, StartedAt: now, HTTPStatus: 500, NextAttemptAt: &next}},
	}
	data, _ := json.Marshal(rec)
	if _, err := f.deliveries.Put(context.Background(), rec.ID, data); err != nil {
		t.Fatal(err)
	}
	// The redelivered first task is stale; it must bring the retry back.
	data, _ = json.Marshal(task)
	if _, err := f.js.PublishMsg(context.Background(), &nats.Msg{Subject: webhook.TaskSubject(sub.ID, task.DeliveryID), Data: data}); err != nil {
		t.Fatal(err)
	}
	f.start(t, Config{})
	d := f.awaitDelivery(t, ev.ID, sub.ID, webhook.DeliveryDelivered)
	if len(d.Attempts) != 2 || d.Attempts[1].Trigger != webhook.TriggerScheduled || d.Attempts[1].StartedAt.Before(next) {
		t.Fatalf("attempts %+v", d.Attempts)
	}
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("receiver got %d requests, want 1: the stale task must not attempt", n)
	}
}

func TestALaggingSubscriptionCacheAsksTheBucket(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, nil)
	sub := f.subscribe(t, rc.URL, webhook.EventInvoiceCreated)
	d := f.start(t, Config{})
	// As if this process's watch had not yet seen the subscription that
	// another process fanned the event out to.
	d.subs.mu.Lock()
	delete(d.subs.subs, sub.ID)
	d.subs.mu.Unlock()
	ev := f.invoiceEvents(t)[0]
	task, err := webhook.NewTask(ev, webhook.EventInvoiceCreated, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(task)
	if _, err := f.js.PublishMsg(context.Background(), &nats.Msg{Subject: webhook.TaskSubject(sub.ID, task.DeliveryID), Data: data}); err != nil {
		t.Fatal(err)
	}
	f.awaitDelivery(t, ev.ID, sub.ID, webhook.DeliveryDelivered)
}

func TestDisablingEndsWaitingDeliveriesAtOnce(t *testing.T) {
	f := newFixture(t)
	var gone atomic.Bool
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if gone.Load() {
			w.WriteHeader(http.StatusGone)
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
	})
	sub := f.subscribe(t, rc.URL, webhook.EventInvoiceCreated)
	f.start(t, Config{Schedule: webhook.Schedule{time.Hour}})
	first := f.invoiceEvents(t)[0]
	f.awaitDelivery(t, first.ID, sub.ID, webhook.DeliveryFailing) // its retry is an hour away

	gone.Store(true)
	second := f.invoiceEvents(t)[0]
	f.awaitDelivery(t, second.ID, sub.ID, webhook.DeliveryDead)
	d := f.awaitDelivery(t, first.ID, sub.ID, webhook.DeliveryDead)
	if !strings.Contains(d.Reason, "410") || len(d.Attempts) != 1 {
		t.Fatalf("the waiting delivery: %+v", d)
	}
	// The retries go right after their deliveries are marked dead.
	natstest.Eventually(t, 5*time.Second, "no retry scheduled", func() bool {
		counts, _ := natstest.SubjectCounts(t, f.tasks, webhook.ScheduleSubject(sub.ID, "*"))
		return len(counts) == 0
	})
}
