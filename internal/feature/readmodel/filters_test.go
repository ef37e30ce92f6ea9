package readmodel_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
)

// requestAt publishes a new invoice of customer created at created.
func (fx *fixture) requestAt(customer string, created time.Time) events.Event {
	fx.t.Helper()
	fx.n++
	key := fmt.Sprintf("key-%d", fx.n)
	inv := events.Invoice{ID: events.InvoiceID("t", "POST /invoices", key), CustomerID: customer, AmountCents: 1,
		Currency: "USD", CreatedAt: created}
	ev := events.NewRequested(inv, events.Idempotency{Caller: "t", Endpoint: "POST /invoices", Key: key, RequestHash: "h"})
	fx.publish(ev)
	return ev
}

// TestInvoicesByCreationTime stores invoices whose creation times do not
// follow their order in the stream, as requests that take long to store
// leave them, and checks every window of creation times, with every page
// size, against what a scan of all of them finds: newest first in stream
// order, bounds exclusive.
func TestInvoicesByCreationTime(t *testing.T) {
	fx := newFixture(t)
	// Seconds after epoch, in stream order: mostly rising, some late by up
	// to an hour, two at the same instant.
	offsets := []int{0, 10, 5, 20, 20, 30, 3600, 40, 15, 50, 60, 45, 70, 7200, 80, 1, 90}
	var stored []events.Event
	for i, off := range offsets {
		customer := "cust-a"
		if i%3 == 0 {
			customer = "cust-b"
		}
		stored = append(stored, fx.requestAt(customer, epoch.Add(time.Duration(off)*time.Second)))
	}
	fx.caughtUp()
	at := func(off int) time.Time { return epoch.Add(time.Duration(off) * time.Second) }
	bounds := []time.Time{{}, at(-1), at(0), at(1), at(14), at(15), at(20), at(45), at(89), at(90), at(3600), at(100000),
		time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)}
	for _, customer := range []string{"", "cust-b"} {
		for _, after := range bounds {
			for _, before := range bounds {
				f := readmodel.InvoiceFilter{CustomerID: customer, CreatedAfter: after, CreatedBefore: before}
				var want []string
				for i := len(stored) - 1; i >= 0; i-- {
					inv := stored[i].Invoice
					if (customer == "" || inv.CustomerID == customer) && (after.IsZero() || inv.CreatedAt.After(after)) &&
						(before.IsZero() || inv.CreatedAt.Before(before)) {
						want = append(want, inv.ID)
					}
				}
				for _, limit := range []int{1, 4, 100} {
					if got, _ := walk(t, fx.store, f, limit); !slices.Equal(got, want) {
						t.Fatalf("customer %q after %v before %v, limit %d: %v, want %v", customer, after, before, limit, got, want)
					}
				}
			}
		}
	}
}

// TestDeliveriesOfAnInvoiceAndOfAnEvent filters deliveries by invoice, by
// event, by creation time and by all of them with the other filters, and
// pages through each.
func TestDeliveriesOfAnInvoiceAndOfAnEvent(t *testing.T) {
	fx := newFixture(t)
	var all []webhook.Delivery
	for n := range 30 {
		sub := []string{"sub-a", "sub-b", "sub-c"}[n%3]
		d := delivery(sub, n/3, webhook.DeliveryStatuses[n%len(webhook.DeliveryStatuses)], 1)
		d.CreatedAt = epoch.Add(time.Duration(n) * time.Second)
		d.InvoiceID = fmt.Sprint("inv-", n%4)
		if d.Settled() {
			fx.settle(d)
		} else {
			fx.live(d)
		}
		all = append(all, d)
	}
	for _, d := range all {
		fx.holds(d)
	}
	for _, tt := range []struct {
		name string
		f    readmodel.DeliveryFilter
		keep func(webhook.Delivery) bool
	}{
		{"an invoice", readmodel.DeliveryFilter{InvoiceID: "inv-1"}, func(d webhook.Delivery) bool { return d.InvoiceID == "inv-1" }},
		{"an event", readmodel.DeliveryFilter{EventID: "evt-2"}, func(d webhook.Delivery) bool { return d.EventID == "evt-2" }},
		{"an unknown invoice", readmodel.DeliveryFilter{InvoiceID: "inv-9"}, func(webhook.Delivery) bool { return false }},
		{"an event of another invoice", readmodel.DeliveryFilter{EventID: "evt-2", InvoiceID: "inv-0"},
			func(d webhook.Delivery) bool { return d.EventID == "evt-2" && d.InvoiceID == "inv-0" }},
		{"an invoice at a subscription", readmodel.DeliveryFilter{InvoiceID: "inv-2", SubscriptionID: "sub-c"},
			func(d webhook.Delivery) bool { return d.InvoiceID == "inv-2" && d.SubscriptionID == "sub-c" }},
		{"an invoice's failing", readmodel.DeliveryFilter{InvoiceID: "inv-2", Status: webhook.DeliveryFailing},
			func(d webhook.Delivery) bool { return d.InvoiceID == "inv-2" && d.Status == webhook.DeliveryFailing }},
		{"a window", readmodel.DeliveryFilter{CreatedAfter: epoch.Add(5 * time.Second), CreatedBefore: epoch.Add(20 * time.Second)},
			func(d webhook.Delivery) bool {
				return d.CreatedAt.After(epoch.Add(5*time.Second)) && d.CreatedAt.Before(epoch.Add(20*time.Second))
			}},
		{"an invoice in a window", readmodel.DeliveryFilter{InvoiceID: "inv-3", CreatedAfter: epoch.Add(3 * time.Second), CreatedBefore: epoch.Add(27 * time.Second)},
			func(d webhook.Delivery) bool {
				return d.InvoiceID == "inv-3" && d.CreatedAt.After(epoch.Add(3*time.Second)) && d.CreatedAt.Before(epoch.Add(27*time.Second))
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var want []string
			for i := len(all) - 1; i >= 0; i-- {
				if tt.keep(all[i]) {
					want = append(want, all[i].ID)
				}
			}
			for _, limit := range []int{1, 2, 100} {
				if got := walkDeliveries(t, fx.store, tt.f, limit); !slices.Equal(got, want) {
					t.Fatalf("limit %d: %v, want %v", limit, got, want)
				}
			}
		})
	}
}
