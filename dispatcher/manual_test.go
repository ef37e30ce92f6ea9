package dispatcher

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestManualTaskRevivesADeadDelivery(t *testing.T) {
	f := newFixture(t)
	var healthy atomic.Bool
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	sub := f.subscribe(t, rc.URL, webhook.EventInvoiceCreated)
	f.start(t, Config{})
	ev := f.invoiceEvents(t)[0]
	dead := f.awaitDelivery(t, ev.ID, sub.ID, webhook.DeliveryDead)

	healthy.Store(true)
	data, _ := json.Marshal(dead.ManualTask())
	if _, err := f.js.PublishMsg(context.Background(), &nats.Msg{Subject: webhook.ManualTaskSubject(sub.ID, dead.ID), Data: data},
		jetstream.WithMsgID(dead.ManualMsgID())); err != nil {
		t.Fatal(err)
	}
	d := f.awaitDelivery(t, ev.ID, sub.ID, webhook.DeliveryDelivered)
	last := d.Attempts[len(d.Attempts)-1]
	if len(d.Attempts) != len(dead.Attempts)+1 || last.Trigger != webhook.TriggerManual || last.HTTPStatus != 200 {
		t.Fatalf("%+v", d.Attempts)
	}
	reqs := rc.requests()
	if got := reqs[len(reqs)-1].header.Get("webhook-id"); got != ev.ID {
		t.Fatalf("manual attempt webhook-id %q, want %q", got, ev.ID)
	}
}

func TestManualTaskAnsweredByALaterAttemptIsSkipped(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	sub := f.subscribe(t, rc.URL, webhook.EventInvoiceCreated)
	f.start(t, Config{})
	ev := f.invoiceEvents(t)[0]
	dead := f.awaitDelivery(t, ev.ID, sub.ID, webhook.DeliveryDead)

	stale := dead.ManualTask()
	stale.AttemptsBefore = len(dead.Attempts) - 1 // asked for before the last attempt
	fresh := dead.ManualTask()
	for i, task := range []webhook.Task{stale, fresh} {
		data, _ := json.Marshal(task)
		if _, err := f.js.PublishMsg(context.Background(), &nats.Msg{Subject: webhook.ManualTaskSubject(sub.ID, dead.ID), Data: data},
			jetstream.WithMsgID(fmt.Sprint("manual-test-", i))); err != nil {
			t.Fatal(err)
		}
	}
	natstest.Eventually(t, 10*time.Second, "the fresh manual attempt", func() bool {
		d, _ := f.delivery(t, dead.SubscriptionID, dead.ID)
		return len(d.Attempts) == len(dead.Attempts)+1
	})
	natstest.Eventually(t, 10*time.Second, "both manual tasks settled", func() bool {
		info, err := f.js.Consumer(context.Background(), webhook.StreamWebhooks, DeliveryConsumer)
		if err != nil {
			return false
		}
		ci, err := info.Info(context.Background())
		return err == nil && ci.NumPending == 0 && ci.NumAckPending == 0
	})
	if d, _ := f.delivery(t, dead.SubscriptionID, dead.ID); len(d.Attempts) != len(dead.Attempts)+1 {
		t.Fatalf("%d attempts, want %d: the stale request made one too", len(d.Attempts), len(dead.Attempts)+1)
	}
}
