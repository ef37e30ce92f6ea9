package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// oaFixtures are the records the replayed requests refer to.
type oaFixtures struct {
	hooks                                    string // the receiver's URL
	okSub, failSub                           string // receiving subscriptions
	rotSub, disabledSub, deleteSub, patchSub string
	edSub                                    string // signed with ed25519
	created, processed, failed               string // invoice IDs by status
	delivered, failing, full                 string // delivery IDs; full has the most attempts
	offDelivery, goneDelivery                string // dead deliveries of disabledSub and deleteSub
	invoicesCursor, deliveriesCursor         string
	subscriptionsCursor                      string
	deliveredEvent                           string // the event of delivered
	inFlightKey, inFlightBody                string // its event's ID is known, the event not
	since                                    string // an hour ago
	badInvoice, badKey, badSub, badDelivery  string // corrupt records
	badDeliverySub                           string
	badSubDelivery                           string // a delivery of badSub
}

// oaSetupMain makes the records of the main server: subscriptions, the
// deliveries of three invoices' events to them, then what the replay needs.
func oaSetupMain(t testing.TB, e *oaEnv) *oaFixtures {
	t.Helper()
	f := &oaFixtures{since: time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)}
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(hooks.Close)
	f.hooks = hooks.URL
	f.okSub, _ = e.subscribe(t, f.hooks+"/hooks/ok", "")
	f.failSub, _ = e.subscribe(t, f.hooks+"/hooks/fail", `["invoice.created"]`)
	oaRecordDeliveries(t, e, f)
	f.delivered = e.deliveryIDs(readmodel.DeliveryFilter{SubscriptionID: f.okSub})[0]
	f.deliveredEvent = e.delivery(t, f.delivered).EventID
	f.failing = e.deliveryIDs(readmodel.DeliveryFilter{SubscriptionID: f.failSub})[0]
	f.full = oaPutFullDelivery(t, e, f.failing)
	oaSetupCursors(t, e, f)
	oaSetupSubscriptions(t, e, f)
	oaSetupRetryRefusals(t, e, f)
	oaSetupInFlight(t, e, f)
	return f
}

// oaPutFullDelivery stores a copy of the delivery id with the most attempts
// one keeps, as a manual retry loop would leave it, and returns its ID.
func oaPutFullDelivery(t testing.TB, e *oaEnv, id string) string {
	t.Helper()
	full := e.delivery(t, id)
	full.ID = uuid.NewString()
	for len(full.Attempts) < webhook.MaxAttempts {
		at := full.Attempts[0]
		at.Number, at.Trigger = len(full.Attempts)+1, webhook.TriggerManual
		full.Attempts = append(full.Attempts, at)
	}
	data, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	e.putDelivery(t, full.ID, data)
	return full.ID
}

// oaSetupCursors reads the cursor of the second page of invoices, of
// deliveries and of subscriptions.
func oaSetupCursors(t testing.TB, e *oaEnv, f *oaFixtures) {
	t.Helper()
	for _, c := range []struct {
		path   string
		cursor *string
	}{
		{"/invoices?limit=1", &f.invoicesCursor},
		{"/webhooks/deliveries?limit=1", &f.deliveriesCursor},
		{"/webhooks/subscriptions?limit=1", &f.subscriptionsCursor},
	} {
		var page struct {
			NextCursor string `json:"next_cursor"`
		}
		e.call(t, http.MethodGet, c.path, "", http.StatusOK).decode(t, &page)
		if *c.cursor = page.NextCursor; page.NextCursor == "" {
			t.Fatalf("no cursor from %s", c.path)
		}
	}
}

// oaSetupSubscriptions makes the subscriptions the replay rotates, finds
// disabled, deletes and updates.
func oaSetupSubscriptions(t testing.TB, e *oaEnv, f *oaFixtures) {
	t.Helper()
	f.rotSub, _ = e.subscribe(t, f.hooks+"/hooks/rotate", "")
	f.disabledSub, _ = e.subscribe(t, f.hooks+"/hooks/disabled", "")
	e.call(t, http.MethodPatch, "/webhooks/subscriptions/"+f.disabledSub, `{"status":"disabled"}`, http.StatusOK)
	f.deleteSub, _ = e.subscribe(t, f.hooks+"/hooks/delete", "")
	f.patchSub, _ = e.subscribe(t, f.hooks+"/hooks/patch", `["invoice.failed"]`)
	var ed struct{ ID string }
	e.call(t, http.MethodPost, "/webhooks/subscriptions", fmt.Sprintf(`{"url":%q,"signing":"ed25519"}`, f.hooks+"/hooks/ed25519"),
		http.StatusCreated).decode(t, &ed)
	f.edSub = ed.ID
}

// oaSetupInFlight makes JetStream see the message ID of the event a request
// with f.inFlightKey stores, while the event is not readable under its
// subject: so it looks while the first request with the key is being stored.
func oaSetupInFlight(t testing.TB, e *oaEnv, f *oaFixtures) {
	t.Helper()
	f.inFlightKey, f.inFlightBody = "in-flight", `{"customer_id":"cust-flight","amount_cents":1}`
	id := events.InvoiceID(api.KeyAccount(oaKey), oaEndpoint, f.inFlightKey)
	if _, err := e.js.PublishMsg(context.Background(), &nats.Msg{Subject: events.SubjectPrefix + ".in-flight", Data: []byte("{}")},
		jetstream.WithMsgID(events.EventID(id, events.InvoiceRequested))); err != nil {
		t.Fatal(err)
	}
}

// oaSetupCorrupt stores records the service cannot read, on another server.
func oaSetupCorrupt(t testing.TB, e *oaEnv, f *oaFixtures) {
	t.Helper()
	ctx := context.Background()
	const garbage = `{"schema":1,"unreadable`
	f.badInvoice = uuid.NewString()
	e.publishRaw(t, events.Subject(events.DefaultAccount, f.badInvoice, events.InvoiceRequested), garbage)
	f.badKey = "corrupt-key"
	e.publishRaw(t, events.Subject(api.KeyAccount(oaKey), events.InvoiceID(api.KeyAccount(oaKey), oaEndpoint, f.badKey), events.InvoiceRequested), garbage)
	listed := e.createInvoice(t, "corrupt-list", `{"customer_id":"cust-corrupt","amount_cents":1}`)
	e.publishRaw(t, events.Subject(events.DefaultAccount, listed.ID, events.InvoiceProcessed), garbage)
	f.badSub = uuid.NewString()
	if _, err := e.subs.Put(ctx, f.badSub, []byte(garbage)); err != nil {
		t.Fatal(err)
	}
	oaSetupUnreadableSubscription(t, e, f, listed.ID)
	f.badDelivery, f.badDeliverySub = uuid.NewString(), uuid.NewString()
	e.putDelivery(t, f.badDelivery, fmt.Appendf(nil,
		`{"id":%q,"subscription_id":%q,"event_type":"invoice.created","status":"failing","created_at":"2024-05-01T00:00:00Z","attempts":"unreadable"}`,
		f.badDelivery, f.badDeliverySub))
}

// call sends a fixture request to the main server and wants status.
func (e *oaEnv) call(t testing.TB, method, path, body string, status int, header ...string) oaResult {
	t.Helper()
	r := oaSend(t, e.servers[oaMain], oaCase{method: method, path: path, body: body,
		header: append([]string{"Content-Type", "application/json"}, header...)})
	if r.status != status {
		t.Fatalf("%s %s: %d %s, want %d", method, path, r.status, r.body, status)
	}
	return r
}

// createInvoice creates an invoice through the API.
func (e *oaEnv) createInvoice(t testing.TB, key, body string) events.Invoice {
	t.Helper()
	var inv events.Invoice
	e.call(t, http.MethodPost, "/invoices", body, http.StatusCreated, "Idempotency-Key", key).decode(t, &inv)
	return inv
}

// subscribe creates a subscription through the API and returns its ID and
// secret.
func (e *oaEnv) subscribe(t testing.TB, url, eventTypes string) (id, secret string) {
	t.Helper()
	body := fmt.Sprintf(`{"url":%q}`, url)
	if eventTypes != "" {
		body = fmt.Sprintf(`{"url":%q,"event_types":%s}`, url, eventTypes)
	}
	var sub struct{ ID, Secret string }
	e.call(t, http.MethodPost, "/webhooks/subscriptions", body, http.StatusCreated).decode(t, &sub)
	return sub.ID, sub.Secret
}

// publishRaw stores data, which need not be an event, under subject.
func (e *oaEnv) publishRaw(t testing.TB, subject, data string) {
	t.Helper()
	if _, err := e.js.Publish(context.Background(), subject, []byte(data)); err != nil {
		t.Fatalf("publish %s: %v", subject, err)
	}
}

// putDelivery stores a live delivery record, as the dispatcher does, and
// waits for the read model to hold it, if it is one.
func (e *oaEnv) putDelivery(t testing.TB, id string, data []byte) {
	t.Helper()
	if _, err := e.deliveries.Put(context.Background(), id, data); err != nil {
		t.Fatal(err)
	}
	var want webhook.Delivery
	if json.Unmarshal(data, &want) != nil {
		return // the read model skips what it cannot read
	}
	natstest.Eventually(t, 5*time.Second, "the read model holds the record", func() bool {
		d, err := e.model.Delivery(context.Background(), id)
		return err == nil && bytes.Equal(d.Version(), want.Version())
	})
}

// delivery returns delivery id as the read model holds it.
func (e *oaEnv) delivery(t testing.TB, id string) webhook.Delivery {
	t.Helper()
	d, err := e.model.Delivery(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// deliveryIDs returns the IDs of the deliveries that match f, newest first.
func (e *oaEnv) deliveryIDs(f readmodel.DeliveryFilter) []string {
	page, _, _ := e.model.Deliveries(context.Background(), f, readmodel.DeliveryCursor{}, 1000)
	ids := make([]string, len(page))
	for i, d := range page {
		ids[i] = d.ID
	}
	return ids
}
