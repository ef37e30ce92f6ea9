package api_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/internal/contract/webhook"
)

// walkDeliveries pages through GET /webhooks/deliveries with q, limit at
// a time, and returns the IDs listed.
func (e *deliveriesEnv) walk(t testing.TB, q url.Values, limit string) []string {
	t.Helper()
	q = cloneQuery(q)
	q.Set("limit", limit)
	var got []string
	for {
		p := e.list(t, q)
		got = append(got, ids(p.Data)...)
		if !p.HasMore {
			return got
		}
		q.Set("cursor", p.NextCursor)
	}
}

// cloneQuery returns a copy of q.
func cloneQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	return out
}

func TestListDeliveriesOfAnInvoiceOfAnEventAndByTime(t *testing.T) {
	e := newDeliveriesEnv(t)
	subA, subB, invoice := uuid.NewString(), uuid.NewString(), uuid.NewString()
	var all []webhook.Delivery
	for n := range 6 {
		for _, sub := range []string{subA, subB} {
			d := e.record(sub, n, webhook.DeliveryStatuses[n%len(webhook.DeliveryStatuses)], webhook.EventInvoiceCreated)
			d.EventID = uuid.NewSHA1(uuid.NameSpaceURL, []byte(d.EventID)).String()
			d.ID = webhook.DeliveryID(d.EventID, sub)
			if n%2 == 0 {
				d.InvoiceID = invoice
			}
			all = append(all, e.put(t, d))
		}
	}
	keep := func(pred func(webhook.Delivery) bool) []string {
		var out []webhook.Delivery
		for _, d := range all {
			if pred(d) {
				out = append(out, d)
			}
		}
		return newestFirst(out...)
	}
	at := func(n int) string { return e.base.Add(time.Duration(n) * time.Second).Format(time.RFC3339) }
	event := all[4].EventID
	for _, tt := range []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"an invoice", url.Values{"invoice_id": {invoice}}, keep(func(d webhook.Delivery) bool { return d.InvoiceID == invoice })},
		{"an invoice in upper case", url.Values{"invoice_id": {strings.ToUpper(invoice)}}, keep(func(d webhook.Delivery) bool { return d.InvoiceID == invoice })},
		{"an event", url.Values{"event_id": {event}}, keep(func(d webhook.Delivery) bool { return d.EventID == event })},
		{"an event at one subscription", url.Values{"event_id": {event}, "subscription_id": {subB}},
			keep(func(d webhook.Delivery) bool { return d.EventID == event && d.SubscriptionID == subB })},
		{"an invoice's failing", url.Values{"invoice_id": {invoice}, "status": {webhook.DeliveryFailing}},
			keep(func(d webhook.Delivery) bool { return d.InvoiceID == invoice && d.Status == webhook.DeliveryFailing })},
		{"an unknown invoice", url.Values{"invoice_id": {uuid.NewString()}}, nil},
		{"created after", url.Values{"created_after": {at(2)}}, keep(func(d webhook.Delivery) bool { return d.CreatedAt.After(e.base.Add(2 * time.Second)) })},
		{"created before", url.Values{"created_before": {at(2)}}, keep(func(d webhook.Delivery) bool { return d.CreatedAt.Before(e.base.Add(2 * time.Second)) })},
		{"an invoice in a window", url.Values{"invoice_id": {invoice}, "created_after": {at(0)}, "created_before": {at(5)}},
			keep(func(d webhook.Delivery) bool {
				return d.InvoiceID == invoice && d.CreatedAt.After(e.base) && d.CreatedAt.Before(e.base.Add(5*time.Second))
			})},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, limit := range []string{"1", "3", "100"} {
				if got := e.walk(t, tt.query, limit); !slices.Equal(got, tt.want) {
					t.Fatalf("limit %s: %v\nwant %v", limit, got, tt.want)
				}
			}
		})
	}
	for _, tt := range []struct{ name, query, field string }{
		{"invoice not a UUID", "invoice_id=inv_1", "invoice_id"},
		{"event empty", "event_id=", "event_id"},
		{"invoice twice", "invoice_id=" + invoice + "&invoice_id=" + invoice, "invoice_id"},
		{"after not a time", "created_after=yesterday", "created_after"},
		{"before with an offset's + unescaped", "created_before=" + strings.Replace(at(1), "Z", "+00:00", 1), "created_before"},
		{"after the same as before", "created_after=" + at(1) + "&created_before=" + at(1), "created_before"},
		{"after past before", "created_after=" + at(2) + "&created_before=" + at(1), "created_before"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantProblem(t, e.do(t, http.MethodGet, "/webhooks/deliveries?"+tt.query, nil), http.StatusBadRequest, tt.field)
		})
	}
}

func TestListInvoicesByCreationTime(t *testing.T) {
	e := newEnv(t, envOptions{})
	var created []invoice
	for _, key := range []string{"t-1", "t-2", "t-3", "t-4", "t-5"} {
		var inv invoice
		r := e.post(t, key, body2500)
		r.json(t, &inv)
		if len(created) > 0 && !created[len(created)-1].CreatedAt.Before(inv.CreatedAt) {
			t.Fatalf("two invoices created at %v", inv.CreatedAt)
		}
		created = append(created, inv)
	}
	idsOf := func(invs ...invoice) []string {
		var out []string
		for i := len(invs) - 1; i >= 0; i-- {
			out = append(out, invs[i].ID)
		}
		return out
	}
	walk := func(q url.Values) []string {
		var got []string
		for {
			p := e.list(t, q)
			for _, inv := range p.Data {
				got = append(got, inv.ID)
			}
			if !p.HasMore {
				return got
			}
			q.Set("cursor", p.NextCursor)
		}
	}
	stamp := func(i int) string { return created[i].CreatedAt.Format(time.RFC3339Nano) }
	for _, tt := range []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"after the second", url.Values{"created_after": {stamp(1)}}, idsOf(created[2:]...)},
		{"before the fourth", url.Values{"created_before": {stamp(3)}}, idsOf(created[:3]...)},
		{"strictly between", url.Values{"created_after": {stamp(0)}, "created_before": {stamp(4)}}, idsOf(created[1:4]...)},
		{"with another filter", url.Values{"created_after": {stamp(0)}, "status": {"processed"}}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, limit := range []string{"1", "2", "100"} {
				q := cloneQuery(tt.query)
				q.Set("limit", limit)
				if got := walk(q); !slices.Equal(got, tt.want) {
					t.Fatalf("limit %s: %v, want %v", limit, got, tt.want)
				}
			}
		})
	}
	for _, q := range []string{"created_after=2024-05-01", "created_before=" + stamp(0) + "&created_after=" + stamp(0), "created_after=" + stamp(0) + "&created_after=" + stamp(1)} {
		p := wantProblem(t, e.do(t, http.MethodGet, "/invoices?"+q, nil), http.StatusBadRequest, "")
		if !strings.HasPrefix(p.Field, "created_") {
			t.Fatalf("?%s names %q", q, p.Field)
		}
	}
}
