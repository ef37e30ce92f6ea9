package history_test

import (
	"context"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/invoiced/invoiced/internal/infra/history"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/invoiced/invoiced/internal/testing/statetest"
	"github.com/nats-io/nats.go"
)

func TestReaderReadsInvoiceEventsSinceATime(t *testing.T) {
	_, js := natstest.Connect(t, natstest.Start(t, natstest.Options{}))
	h := statetest.Streams(t, js, broker.Streams{})
	ctx := context.Background()
	publish := func(ev events.Event) {
		t.Helper()
		data, err := events.Encode(ev)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.PublishMsg(ctx, &nats.Msg{Subject: ev.Subject(), Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	newInvoice := func(key string) events.Event {
		return events.NewRequested(events.Invoice{ID: events.InvoiceID("t", "e", key), CustomerID: "c", AmountCents: 1, Currency: "USD", CreatedAt: time.Now()},
			events.Idempotency{Caller: "t", Endpoint: "e", Key: key, RequestHash: "h"})
	}
	old := newInvoice("old")
	publish(old)
	natstest.Eventually(t, 5*time.Second, "history has the first event", func() bool {
		info, err := h.History.Info(ctx)
		return err == nil && info.State.Msgs == 1
	})
	time.Sleep(20 * time.Millisecond) // the events below are stored after since
	since := time.Now()
	a := newInvoice("a")
	publish(a)
	publish(events.NewProcessed(a.Invoice, time.Now()))
	natstest.Eventually(t, 5*time.Second, "history has every event", func() bool {
		info, err := h.History.Info(ctx)
		return err == nil && info.State.Msgs == 3
	})
	for _, tt := range []struct {
		since time.Time
		want  []events.Type
	}{
		{time.Time{}, []events.Type{events.InvoiceRequested, events.InvoiceRequested, events.InvoiceProcessed}},
		{since, []events.Type{events.InvoiceRequested, events.InvoiceProcessed}},
	} {
		r, err := history.NewReader(ctx, js, history.Invoices, tt.since)
		if err != nil {
			t.Fatal(err)
		}
		if r.Total() != len(tt.want) {
			t.Fatalf("since %v: total %d, want %d", tt.since, r.Total(), len(tt.want))
		}
		var got []events.Type
		err = r.Each(ctx, func(m history.Message) error {
			ev, err := m.Event()
			if err != nil {
				return err
			}
			if m.Origin.Stream != events.StreamInvoices || m.Origin.Subject != ev.Subject() {
				t.Errorf("origin %+v of %s", m.Origin, ev.Subject())
			}
			got = append(got, ev.Type)
			return nil
		})
		if err != nil || len(got) != len(tt.want) {
			t.Fatalf("since %v: read %v, %v", tt.since, got, err)
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Fatalf("since %v: read %v, want %v", tt.since, got, tt.want)
			}
		}
	}
	// How far the history holds each source, from what it stored.
	if copied, err := history.Copied(ctx, js, history.Invoices); err != nil || copied != 3 {
		t.Fatalf("copied invoices up to %d, %v; want 3", copied, err)
	}
	if copied, err := history.Copied(ctx, js, history.Deliveries); err != nil || copied != 0 {
		t.Fatalf("copied settled deliveries up to %d, %v; want none", copied, err)
	}
}
