package readmodel_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
)

func deliveryIDs(ds []webhook.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// walkDeliveries reads every page of f, limit at a time.
func walkDeliveries(t *testing.T, s *readmodel.Store, f readmodel.DeliveryFilter, limit int) []string {
	t.Helper()
	var all []string
	for after := (readmodel.DeliveryCursor{}); ; {
		page, next, err := s.Deliveries(context.Background(), f, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, deliveryIDs(page)...)
		if next.IsZero() {
			return all
		}
		after = next
	}
}

func TestTheNewestVersionOfADeliveryWinsInAnyOrder(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	pending := delivery("sub", 1, webhook.DeliveryPending, 0)
	failing := delivery("sub", 1, webhook.DeliveryFailing, 1)
	delivered := delivery("sub", 1, webhook.DeliveryDelivered, 1)
	delivered.Attempts = append(delivered.Attempts, webhook.Attempt{Number: 2, HTTPStatus: 200})

	// The settled record comes by the history before a live version that
	// is older: the read model keeps the settled one.
	fx.settle(delivered)
	fx.holds(delivered)
	fx.live(failing)
	fx.live(pending)
	other := delivery("sub", 2, webhook.DeliveryFailing, 1)
	fx.live(other) // applied after the stale ones: they have been seen
	fx.holds(other)
	got, err := fx.store.Delivery(ctx, delivered.ID)
	if err != nil || got.Status != webhook.DeliveryDelivered || len(got.Attempts) != 2 {
		t.Fatalf("a stale version replaced a newer one: %+v, %v", got, err)
	}
	// Ended without a further attempt, the failing one becomes dead.
	dead := other
	dead.Status, dead.Reason = webhook.DeliveryDead, "the subscription was deleted"
	fx.settle(dead)
	fx.holds(dead)
	if _, err := fx.store.Delivery(ctx, "missing"); !errors.Is(err, readmodel.ErrNotFound) {
		t.Fatalf("an unknown delivery: %v", err)
	}
}

func TestDeliveryListsFilterAndPage(t *testing.T) {
	fx := newFixture(t)
	statuses := webhook.DeliveryStatuses
	var all []webhook.Delivery
	for n := range 40 {
		sub := "sub-a"
		if n%3 == 0 {
			sub = "sub-b"
		}
		d := delivery(sub, n, statuses[n%len(statuses)], n%len(statuses))
		if n%2 == 1 {
			d.EventType = webhook.EventInvoiceProcessed
		}
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
	newest := func(keep func(webhook.Delivery) bool) []string {
		var out []string
		for i := len(all) - 1; i >= 0; i-- {
			if keep(all[i]) {
				out = append(out, all[i].ID)
			}
		}
		return out
	}
	since := epoch.Add(30 * time.Second)
	for _, tt := range []struct {
		name string
		f    readmodel.DeliveryFilter
		keep func(webhook.Delivery) bool
	}{
		{"all", readmodel.DeliveryFilter{}, func(webhook.Delivery) bool { return true }},
		{"failing", readmodel.DeliveryFilter{Status: webhook.DeliveryFailing}, func(d webhook.Delivery) bool { return d.Status == webhook.DeliveryFailing }},
		{"delivered", readmodel.DeliveryFilter{Status: webhook.DeliveryDelivered}, func(d webhook.Delivery) bool { return d.Status == webhook.DeliveryDelivered }},
		{"a subscription", readmodel.DeliveryFilter{SubscriptionID: "sub-b"}, func(d webhook.Delivery) bool { return d.SubscriptionID == "sub-b" }},
		{"an event type", readmodel.DeliveryFilter{EventType: webhook.EventInvoiceProcessed}, func(d webhook.Delivery) bool { return d.EventType == webhook.EventInvoiceProcessed }},
		{"since", readmodel.DeliveryFilter{Since: since}, func(d webhook.Delivery) bool { return !d.CreatedAt.Before(since) }},
		{"dead of a subscription since", readmodel.DeliveryFilter{Status: webhook.DeliveryDead, SubscriptionID: "sub-a", Since: since},
			func(d webhook.Delivery) bool {
				return d.Status == webhook.DeliveryDead && d.SubscriptionID == "sub-a" && !d.CreatedAt.Before(since)
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := newest(tt.keep)
			for _, limit := range []int{1, 7, 100} {
				if got := walkDeliveries(t, fx.store, tt.f, limit); !slices.Equal(got, want) {
					t.Fatalf("limit %d: %v, want %v", limit, got, want)
				}
			}
			n, err := fx.store.CountDeliveries(context.Background(), tt.f)
			if err != nil || n != len(want) {
				t.Fatalf("count %d, %v; want %d", n, err, len(want))
			}
		})
	}
}
