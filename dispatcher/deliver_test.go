package dispatcher

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/nats-io/nats.go/jetstream"
)

func TestDeliversSignedWebhooksToMatchingSubscriptions(t *testing.T) {
	f := newFixture(t)
	all := newReceiver(t, nil)
	processedOnly := newReceiver(t, nil)
	subAll := f.subscribe(t, all.URL+"/hook")
	subProcessed := f.subscribe(t, processedOnly.URL+"/hook", webhook.EventInvoiceProcessed)
	f.start(t, Config{})
	evs := f.invoiceEvents(t)

	for _, ev := range evs {
		d := f.awaitDelivery(t, ev.ID, subAll.ID, webhook.DeliveryDelivered)
		if len(d.Attempts) != 1 || d.Attempts[0].HTTPStatus != 200 || d.Attempts[0].Trigger != webhook.TriggerScheduled {
			t.Fatalf("attempts %+v", d.Attempts)
		}
	}
	f.awaitDelivery(t, evs[1].ID, subProcessed.ID, webhook.DeliveryDelivered)
	if _, ok := f.delivery(t, subProcessed.ID, webhook.DeliveryID(evs[0].ID, subProcessed.ID)); ok {
		t.Fatal("invoice.created went to a subscription that only wants invoice.processed")
	}

	verifier, err := standardwebhooks.NewWebhook(subAll.Secrets[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	got := all.requests()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2", len(got))
	}
	byType := map[string]received{}
	for _, r := range got {
		if err := verifier.Verify(r.body, r.header); err != nil {
			t.Fatalf("independent verifier: %v", err)
		}
		if err := webhook.Verify(subAll.Secrets[0].Value, r.header, r.body, time.Now(), time.Minute); err != nil {
			t.Fatalf("own verifier: %v", err)
		}
		byType[r.header.Get("X-Event-Type")] = r
	}
	for i, typ := range []string{webhook.EventInvoiceCreated, webhook.EventInvoiceProcessed} {
		r, ok := byType[typ]
		if !ok {
			t.Fatalf("no %s", typ)
		}
		wantHeaders := map[string]string{
			"Content-Type": "application/json", "User-Agent": "invoiced/test", "X-Attempt": "1",
			"webhook-id": evs[i].ID, "X-Delivery-ID": webhook.DeliveryID(evs[i].ID, subAll.ID),
		}
		for k, v := range wantHeaders {
			if r.header.Get(k) != v {
				t.Fatalf("%s: header %s = %q, want %q", typ, k, r.header.Get(k), v)
			}
		}
		var body struct {
			Type      string         `json:"type"`
			Timestamp time.Time      `json:"timestamp"`
			Data      events.Invoice `json:"data"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		if body.Type != typ || !body.Timestamp.Equal(evs[i].Time) || body.Data.ID != evs[i].Invoice.ID || body.Data.Status != evs[i].Invoice.Status {
			t.Fatalf("%s body %s", typ, r.body)
		}
	}
}

func TestRetriesThenSucceedsWithOneWebhookID(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= 2 {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte("temporarily broken"))
		}
	})
	sub := f.subscribe(t, rc.URL, webhook.EventInvoiceCreated)
	f.start(t, Config{Rand: func() float64 { return 0.5 }})
	ev := f.invoiceEvents(t)[0]

	d := f.awaitDelivery(t, ev.ID, sub.ID, webhook.DeliveryDelivered)
	if len(d.Attempts) != 3 {
		t.Fatalf("%d attempts, want 3: %+v", len(d.Attempts), d.Attempts)
	}
	for i, a := range d.Attempts[:2] {
		if a.HTTPStatus != 500 || a.ResponseBody != "temporarily broken" || a.Error == "" || a.NextAttemptAt == nil {
			t.Fatalf("attempt %d: %+v", i+1, a)
		}
		if got := a.NextAttemptAt.Sub(a.StartedAt); got != testSchedule[i] {
			t.Fatalf("attempt %d: next after %s, want %s", i+1, got, testSchedule[i])
		}
	}
	if d.Attempts[2].HTTPStatus != 200 || d.NextAttemptAt != nil {
		t.Fatalf("last attempt %+v", d)
	}
	reqs := rc.requests()
	for i, r := range reqs {
		if r.header.Get("webhook-id") != ev.ID || r.header.Get("X-Attempt") != strconv.Itoa(i+1) {
			t.Fatalf("request %d: webhook-id %q attempt %q", i+1, r.header.Get("webhook-id"), r.header.Get("X-Attempt"))
		}
	}
	natstest.Eventually(t, 10*time.Second, "failure streak ended by the success", func() bool {
		s := f.subscription(t, sub.ID)
		return s.FailingSince == nil && s.Status == webhook.StatusEnabled
	})
}

func TestRetryAfterStretchesTheDelay(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	sub := f.subscribe(t, rc.URL, webhook.EventInvoiceCreated)
	f.start(t, Config{Rand: func() float64 { return 0.5 }, Schedule: webhook.Schedule{300 * time.Millisecond}})
	ev := f.invoiceEvents(t)[0]
	d := f.awaitDelivery(t, ev.ID, sub.ID, webhook.DeliveryDelivered)
	first := d.Attempts[0]
	// Retry-After 1s, clamped to at most twice the scheduled 300ms.
	if got := first.NextAttemptAt.Sub(first.StartedAt); got != 600*time.Millisecond {
		t.Fatalf("next attempt after %s, want 600ms", got)
	}
	if second := d.Attempts[1].StartedAt; second.Before(*first.NextAttemptAt) {
		t.Fatalf("second attempt at %s, before its time %s", second, first.NextAttemptAt)
	}
}

func TestDeadWhenTheScheduleRunsOut(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	sub := f.subscribe(t, rc.URL, webhook.EventInvoiceCreated)
	f.start(t, Config{})
	ev := f.invoiceEvents(t)[0]
	d := f.awaitDelivery(t, ev.ID, sub.ID, webhook.DeliveryDead)
	if len(d.Attempts) != len(testSchedule)+1 || d.Reason == "" || d.NextAttemptAt != nil {
		t.Fatalf("%+v", d)
	}
	if n := len(rc.requests()); n != len(testSchedule)+1 {
		t.Fatalf("receiver got %d requests", n)
	}
	natstest.Eventually(t, 10*time.Second, "failure streak recorded", func() bool {
		return f.subscription(t, sub.ID).FailingSince != nil
	})
}

func TestGoneDisablesTheSubscription(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) })
	sub := f.subscribe(t, rc.URL, webhook.EventInvoiceCreated)
	f.start(t, Config{})
	ev := f.invoiceEvents(t)[0]
	d := f.awaitDelivery(t, ev.ID, sub.ID, webhook.DeliveryDead)
	if len(d.Attempts) != 1 {
		t.Fatalf("%d attempts after 410", len(d.Attempts))
	}
	natstest.Eventually(t, 10*time.Second, "subscription disabled by 410", func() bool {
		s := f.subscription(t, sub.ID)
		return s.Status == webhook.StatusDisabled && s.DisabledReason != ""
	})
}

func TestDisabledAfterALongFailureStreak(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	sub := f.subscribe(t, rc.URL, webhook.EventInvoiceCreated)
	since := time.Now().Add(-200 * time.Hour)
	sub.FailingSince = &since
	f.putSubscription(t, sub)
	f.start(t, Config{DisableAfter: 120 * time.Hour})
	f.invoiceEvents(t)
	natstest.Eventually(t, 15*time.Second, "subscription disabled", func() bool {
		return f.subscription(t, sub.ID).Status == webhook.StatusDisabled
	})
}

func TestAGarbledSettledRecordHoldsNoRetryBack(t *testing.T) {
	f := newFixture(t)
	recv := newReceiver(t, nil)
	sub := f.subscribe(t, recv.URL+"/hook", webhook.EventInvoiceCreated)
	disp := f.start(t, Config{})
	req := f.invoiceEvents(t)[0]
	d := f.awaitDelivery(t, req.ID, sub.ID, webhook.DeliveryDelivered)
	// Garbage now stands where the settled record is read from.
	if _, err := f.js.Publish(context.Background(), webhook.DoneSubject(sub.ID, d.ID), []byte(`{"garbage":true`)); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(d.ManualTask())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.js.Publish(context.Background(), webhook.ManualTaskSubject(sub.ID, d.ID), data, jetstream.WithMsgID(d.ManualMsgID())); err != nil {
		t.Fatal(err)
	}
	natstest.Eventually(t, 15*time.Second, "the manual retry sent despite the garbled record", func() bool {
		return len(recv.requests()) == 2 && disp.Skipped() > 0
	})
}
