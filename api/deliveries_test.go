package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/netguard"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/nats-io/nats.go/jetstream"
)

// deliveriesEnv is newEnv's API with the deliveries resource, the
// webhook_deliveries bucket the dispatcher writes and the WEBHOOKS stream
// it reads.
type deliveriesEnv struct {
	*env
	kv    jetstream.KeyValue
	tasks jetstream.Stream
	base  time.Time // records are created at base plus an offset
}

func newDeliveriesEnv(t testing.TB) *deliveriesEnv {
	t.Helper()
	e := newEnv(t, envOptions{})
	subs, err := api.NewSubscriptions(e.subs, e.ending, api.SubscriptionsConfig{Targets: netguard.Policy{AllowPrivate: true}, Secrets: e.secrets})
	if err != nil {
		t.Fatal(err)
	}
	dl, err := api.NewDeliveries(e.model, e.subs, e.js, api.DeliveriesConfig{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.NewHandler(api.Resources{
		Subscriptions: subs, Deliveries: dl,
		Health: api.NewHealth(func(context.Context) error { return nil }),
	}))
	t.Cleanup(srv.Close)
	e.http = srv // e.do and e.subscribe now reach this handler
	return &deliveriesEnv{env: e, kv: e.h.Deliveries, tasks: e.h.Webhooks,
		base: time.Now().UTC().Add(-time.Hour).Truncate(time.Second)}
}

// record returns a delivery of event n to subscription sub, created at base
// plus n seconds, with one failed attempt unless it is pending.
func (e *deliveriesEnv) record(sub string, n int, status, eventType string) webhook.Delivery {
	eventID := fmt.Sprintf("evt-%d", n)
	created := e.base.Add(time.Duration(n) * time.Second)
	d := webhook.Delivery{
		ID: webhook.DeliveryID(eventID, sub), SubscriptionID: sub, EventID: eventID, EventType: eventType,
		InvoiceID: uuid.NewString(), Status: status, Attempts: []webhook.Attempt{},
		CreatedAt: created, UpdatedAt: created,
		Body: json.RawMessage(fmt.Sprintf(`{"type":%q,"data":{"n":%d}}`, eventType, n)),
	}
	if status != webhook.DeliveryPending {
		d.Attempts = append(d.Attempts, webhook.Attempt{Number: 1, Trigger: webhook.TriggerScheduled,
			StartedAt: created, DurationMS: 12, URL: "https://example.com/hook", HTTPStatus: 500, ResponseBody: "oops"})
	}
	return d
}

// put stores d as the dispatcher would, live in the bucket while it is in
// play and as its settled record once it is settled, and waits for the
// read model to hold it.
func (e *deliveriesEnv) put(t testing.TB, d webhook.Delivery) webhook.Delivery {
	t.Helper()
	ctx := context.Background()
	if d.Settled() {
		if err := e.ending.Settler.Finish(ctx, d, 0); err != nil {
			t.Fatalf("settle delivery: %v", err)
		}
	} else {
		data, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.kv.Put(ctx, d.ID, data); err != nil {
			t.Fatalf("put delivery: %v", err)
		}
	}
	natstest.Eventually(t, 5*time.Second, "the read model holds the delivery", func() bool {
		got, err := e.model.Delivery(ctx, d.ID)
		return err == nil && bytes.Equal(got.Version(), d.Version())
	})
	return d
}

// delivery is a delivery as the API shows it.
type delivery struct {
	ID             string            `json:"id"`
	SubscriptionID string            `json:"subscription_id"`
	EventID        string            `json:"event_id"`
	EventType      string            `json:"event_type"`
	InvoiceID      string            `json:"invoice_id"`
	Status         string            `json:"status"`
	Attempts       []webhook.Attempt `json:"attempts"`
	CreatedAt      time.Time         `json:"created_at"`
	Payload        json.RawMessage   `json:"payload"`
}

type deliveryPage struct {
	Data       []delivery `json:"data"`
	HasMore    bool       `json:"has_more"`
	NextCursor string     `json:"next_cursor"`
}

// list gets one page of GET /webhooks/deliveries with query q.
func (e *deliveriesEnv) list(t testing.TB, q url.Values) deliveryPage {
	t.Helper()
	r := e.do(t, http.MethodGet, "/webhooks/deliveries?"+q.Encode(), nil)
	if r.status != http.StatusOK {
		t.Fatalf("list %s: %d %s", q.Encode(), r.status, r.body)
	}
	var p deliveryPage
	r.json(t, &p)
	if p.HasMore != (p.NextCursor != "") {
		t.Fatalf("has_more %v with next_cursor %q", p.HasMore, p.NextCursor)
	}
	return p
}

func ids(ds []delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// newestFirst returns the IDs of ds in the list order.
func newestFirst(ds ...webhook.Delivery) []string {
	ds = slices.Clone(ds)
	slices.SortFunc(ds, func(a, b webhook.Delivery) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

func TestListDeliveriesPagesNewestFirst(t *testing.T) {
	e := newDeliveriesEnv(t)
	if p := e.list(t, nil); len(p.Data) != 0 || p.HasMore {
		t.Fatalf("empty log: %+v", p)
	}
	sub := uuid.NewString()
	var stored []webhook.Delivery
	for n := range 7 {
		d := e.record(sub, n, webhook.DeliveryFailing, webhook.EventInvoiceCreated)
		if n == 4 {
			d.CreatedAt = stored[3].CreatedAt // a tie, broken by ID
		}
		stored = append(stored, e.put(t, d))
	}
	want := newestFirst(stored...)

	first := e.list(t, url.Values{"limit": {"3"}})
	if !slices.Equal(ids(first.Data), want[:3]) || !first.HasMore {
		t.Fatalf("first page %v has_more %v, want %v", ids(first.Data), first.HasMore, want[:3])
	}
	if first.Data[0].Payload != nil || len(first.Data[0].Attempts) != 1 {
		t.Fatalf("a list item shows its attempts and no payload: %+v", first.Data[0])
	}
	// A delivery made between pages is not in the pages already begun.
	e.put(t, e.record(sub, 99, webhook.DeliveryPending, webhook.EventInvoiceCreated))
	got := ids(first.Data)
	for cursor := first.NextCursor; cursor != ""; {
		p := e.list(t, url.Values{"limit": {"3"}, "cursor": {cursor}})
		got, cursor = append(got, ids(p.Data)...), p.NextCursor
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged %v\nwant   %v", got, want)
	}
	if p := e.list(t, nil); len(p.Data) != 8 || p.Data[0].EventID != "evt-99" || p.HasMore {
		t.Fatalf("a new list starts at the newest: %v", ids(p.Data))
	}
}

func TestListDeliveriesFilters(t *testing.T) {
	e := newDeliveriesEnv(t)
	a, b := uuid.NewString(), uuid.NewString()
	failingA := e.put(t, e.record(a, 1, webhook.DeliveryFailing, webhook.EventInvoiceCreated))
	deadA := e.put(t, e.record(a, 2, webhook.DeliveryDead, webhook.EventInvoiceFailed))
	deliveredA := e.put(t, e.record(a, 3, webhook.DeliveryDelivered, webhook.EventInvoiceProcessed))
	failingB := e.put(t, e.record(b, 4, webhook.DeliveryFailing, webhook.EventInvoiceFailed))
	pendingB := e.put(t, e.record(b, 5, webhook.DeliveryPending, webhook.EventInvoiceCreated))

	tests := []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"all", nil, newestFirst(failingA, deadA, deliveredA, failingB, pendingB)},
		{"status", url.Values{"status": {"failing"}}, newestFirst(failingA, failingB)},
		{"subscription", url.Values{"subscription_id": {a}}, newestFirst(failingA, deadA, deliveredA)},
		{"subscription upper case", url.Values{"subscription_id": {strings.ToUpper(b)}}, newestFirst(failingB, pendingB)},
		{"event type", url.Values{"event_type": {"invoice.failed"}}, newestFirst(deadA, failingB)},
		{"all three", url.Values{"status": {"failing"}, "subscription_id": {b}, "event_type": {"invoice.failed"}}, []string{failingB.ID}},
		{"none match", url.Values{"status": {"dead"}, "subscription_id": {b}}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(e.list(t, tt.query).Data); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("filtered pages", func(t *testing.T) {
		q := url.Values{"subscription_id": {a}, "limit": {"2"}}
		p := e.list(t, q)
		q.Set("cursor", p.NextCursor)
		rest := e.list(t, q)
		if got := append(ids(p.Data), ids(rest.Data)...); !slices.Equal(got, newestFirst(failingA, deadA, deliveredA)) || rest.HasMore {
			t.Fatalf("got %v has_more %v", got, rest.HasMore)
		}
	})
}

func TestDeliveryStatusChangesShowInTheList(t *testing.T) {
	e := newDeliveriesEnv(t)
	d := e.put(t, e.record(uuid.NewString(), 1, webhook.DeliveryPending, webhook.EventInvoiceCreated))
	byStatus := func(status string) []string { return ids(e.list(t, url.Values{"status": {status}}).Data) }
	if got := byStatus("pending"); !slices.Equal(got, []string{d.ID}) {
		t.Fatalf("pending: %v", got)
	}
	d.Status = webhook.DeliveryFailing
	d.Attempts = append(d.Attempts, webhook.Attempt{Number: 1, Trigger: webhook.TriggerScheduled, HTTPStatus: 503})
	e.put(t, d)
	if got := byStatus("failing"); !slices.Equal(got, []string{d.ID}) {
		t.Fatalf("failing: %v", got)
	}
	if got := byStatus("pending"); len(got) != 0 {
		t.Fatalf("still pending: %v", got)
	}

	// Settled, it leaves the bucket of live records and stays in the list.
	d.Status = webhook.DeliveryDelivered
	d.Attempts = append(d.Attempts, webhook.Attempt{Number: 2, Trigger: webhook.TriggerScheduled, HTTPStatus: 200})
	e.put(t, d)
	if got := byStatus("delivered"); !slices.Equal(got, []string{d.ID}) {
		t.Fatalf("delivered: %v", got)
	}
	if got := byStatus("failing"); len(got) != 0 {
		t.Fatalf("still failing: %v", got)
	}
}

func TestGetDelivery(t *testing.T) {
	e := newDeliveriesEnv(t)
	d := e.record(uuid.NewString(), 1, webhook.DeliveryFailing, webhook.EventInvoiceFailed)
	next := d.CreatedAt.Add(time.Minute)
	d.Attempts = append(d.Attempts, webhook.Attempt{Number: 2, Trigger: webhook.TriggerManual, StartedAt: next,
		URL: "https://example.com/hook", Error: "connection refused", NextAttemptAt: &next})
	e.put(t, d)

	r := e.do(t, http.MethodGet, "/webhooks/deliveries/"+d.ID, nil)
	var got delivery
	r.json(t, &got)
	if r.status != http.StatusOK || got.ID != d.ID || got.SubscriptionID != d.SubscriptionID ||
		got.EventID != d.EventID || got.InvoiceID != d.InvoiceID || got.Status != d.Status || !got.CreatedAt.Equal(d.CreatedAt) {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if string(got.Payload) != string(d.Body) {
		t.Fatalf("payload %s, want %s", got.Payload, d.Body)
	}
	if len(got.Attempts) != 2 || got.Attempts[0].ResponseBody != "oops" || got.Attempts[1].Error != "connection refused" ||
		got.Attempts[1].NextAttemptAt == nil || !got.Attempts[1].NextAttemptAt.Equal(next) {
		t.Fatalf("attempts %+v", got.Attempts)
	}
	if strings.Contains(string(r.body), `"body"`) {
		t.Fatalf("the stored body shows as payload only: %s", r.body)
	}

	for _, path := range []string{"/webhooks/deliveries/" + uuid.NewString(), "/webhooks/deliveries/not-a-delivery"} {
		wantProblem(t, e.do(t, http.MethodGet, path, nil), http.StatusNotFound, "")
	}
}

func TestListDeliveriesRefusesBadQueries(t *testing.T) {
	e := newDeliveriesEnv(t)
	invoiceCursor := "djEuNDI" // base64url("v1.42"), an invoices cursor
	tests := []struct{ name, query, field string }{
		{"unknown parameter", "customer_id=x", "customer_id"},
		{"since is not a list filter", "since=2024-01-01T00:00:00Z", "since"},
		{"unknown status", "status=sent", "status"},
		{"empty status", "status=", "status"},
		{"status twice", "status=dead&status=failing", "status"},
		{"unknown event type", "event_type=invoice.paid", "event_type"},
		{"malformed subscription", "subscription_id=sub_1", "subscription_id"},
		{"limit zero", "limit=0", "limit"},
		{"limit over max", "limit=101", "limit"},
		{"limit not a number", "limit=ten", "limit"},
		{"garbage cursor", "cursor=%25%25", "cursor"},
		{"invoices cursor", "cursor=" + invoiceCursor, "cursor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProblem(t, e.do(t, http.MethodGet, "/webhooks/deliveries?"+tt.query, nil), http.StatusBadRequest, tt.field)
		})
	}
	if p := e.list(t, url.Values{"limit": {"100"}}); p.HasMore {
		t.Fatalf("limit 100: %+v", p)
	}
}
