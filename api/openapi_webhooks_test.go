package api_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/invoiced/invoiced/internal/testing/statetest"
)

// oaRecordDeliveries creates three invoices, ends two of them, and stores
// what the dispatcher would record of their webhooks (the dispatcher's own
// tests check the webhooks against the document): each event delivered to
// f.okSub, each invoice.created failing at f.failSub.
func oaRecordDeliveries(t testing.TB, e *oaEnv, f *oaFixtures) {
	t.Helper()
	a := e.createInvoice(t, "hooks-a", `{"customer_id":"cust-hooks","amount_cents":2500,"metadata":{"order":"A-1"}}`)
	processed := events.NewProcessed(a, time.Now())
	statetest.Publish(t, e.js, processed)
	b := e.createInvoice(t, "hooks-b", `{"customer_id":"cust-hooks","amount_cents":999999,"currency":"EUR","description":"too much"}`)
	failed := events.NewFailed(b, time.Now(), events.ReasonAmountExceedsLimit)
	statetest.Publish(t, e.js, failed)
	c := e.createInvoice(t, "hooks-c", `{"customer_id":"cust-other","amount_cents":100}`)
	f.processed, f.failed, f.created = a.ID, b.ID, c.ID
	for _, id := range []string{a.ID, b.ID, c.ID} {
		created := e.requested(t, id)
		e.settleDelivery(t, oaDelivery(t, created, f.okSub, f.hooks+"/hooks/ok", 204))
		e.putLiveDelivery(t, oaDelivery(t, created, f.failSub, f.hooks+"/hooks/fail", 500))
	}
	for _, ev := range []events.Event{processed, failed} {
		e.settleDelivery(t, oaDelivery(t, ev, f.okSub, f.hooks+"/hooks/ok", 204))
	}
	natstest.Eventually(t, 10*time.Second, "every delivery in the read model", func() bool {
		return len(e.deliveryIDs(readmodel.DeliveryFilter{SubscriptionID: f.okSub, Status: webhook.DeliveryDelivered})) == 5 &&
			len(e.deliveryIDs(readmodel.DeliveryFilter{SubscriptionID: f.failSub, Status: webhook.DeliveryFailing})) == 3
	})
}

// oaDelivery returns the record of delivering ev to subscription subID at
// url after one attempt answered status: delivered on a 2xx, else failing
// with a retry in an hour.
func oaDelivery(t testing.TB, ev events.Event, subID, url string, status int) webhook.Delivery {
	t.Helper()
	task, err := webhook.NewTask(ev, webhook.EventTypeFor(ev.Type), subID)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC()
	attempt := webhook.Attempt{Number: 1, Trigger: webhook.TriggerScheduled, StartedAt: at, DurationMS: 3, URL: url, HTTPStatus: status}
	d := webhook.Delivery{
		ID: task.DeliveryID, Account: task.Account, SubscriptionID: subID, EventID: ev.ID, EventType: task.EventType, InvoiceID: ev.Invoice.ID,
		Status: webhook.DeliveryDelivered, Attempts: []webhook.Attempt{attempt}, CreatedAt: at, UpdatedAt: at, Body: task.Body,
	}
	if status >= 300 {
		next := at.Add(time.Hour)
		d.Status, d.NextAttemptAt = webhook.DeliveryFailing, &next
		d.Attempts[0].ResponseBody, d.Attempts[0].NextAttemptAt = "not now", &next
	}
	return d
}

// settleDelivery stores d as settled, as the dispatcher does.
func (e *oaEnv) settleDelivery(t testing.TB, d webhook.Delivery) {
	t.Helper()
	if err := e.h.Ending(e.js).Settler.Finish(context.Background(), d, 0); err != nil {
		t.Fatal(err)
	}
}

// requested returns invoice id's InvoiceRequested as INVOICES holds it.
func (e *oaEnv) requested(t testing.TB, id string) events.Event {
	t.Helper()
	msg, err := e.h.Invoices.GetLastMsgForSubject(context.Background(), events.EventSubjects(id, events.InvoiceRequested)[0])
	if err != nil {
		t.Fatal(err)
	}
	ev, err := events.Decode(msg.Data)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// putLiveDelivery stores d as a live record, as the dispatcher does.
func (e *oaEnv) putLiveDelivery(t testing.TB, d webhook.Delivery) {
	t.Helper()
	data, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	e.putDelivery(t, d.ID, data)
}
