package dispatcher

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/invoiced/invoiced/internal/webhook"
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
