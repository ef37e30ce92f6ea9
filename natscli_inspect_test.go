package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
)

// What the README's recipes for looking inside the service show: its
// streams, subjects, an invoice's history and newest event, the consumers'
// lag and the webhook delivery records.

// checkStreamList checks that the streams recipe lists the service's
// streams and its buckets' KV_ streams.
func checkStreamList(tb testing.TB, s *natscliService) {
	tb.Helper()
	var names []string
	decode(tb, s.cli.run(tb, recipeStreams, nil), &names)
	for _, want := range []string{"INVOICES", "WEBHOOKS", "KV_webhook_subscriptions", "KV_webhook_deliveries"} {
		if !slices.Contains(names, want) {
			tb.Errorf("stream %s missing from %q", want, names)
		}
	}
}

// checkSubjectCounts checks that the subjects recipe counts one message on
// each event subject of the settled invoices, and on no other subject.
func checkSubjectCounts(tb testing.TB, s *natscliService) {
	tb.Helper()
	var counts map[string]int
	decode(tb, s.cli.run(tb, recipeSubjects, nil), &counts)
	want := map[string]int{
		"invoices." + s.paid + ".requested":  1,
		"invoices." + s.paid + ".processed":  1,
		"invoices." + s.large + ".requested": 1,
		"invoices." + s.large + ".failed":    1,
	}
	if !mapsEqual(counts, want) {
		tb.Fatalf("subjects %v, want %v", counts, want)
	}
}

// checkHistories checks the history recipe for each settled invoice.
func checkHistories(t *testing.T, s *natscliService) {
	t.Helper()
	for _, inv := range s.settled() {
		t.Run(inv.name, func(t *testing.T) { checkHistory(t, s.cli, inv) })
	}
}

// checkHistory checks that the history recipe shows the events of inv,
// and only those, oldest first.
func checkHistory(tb testing.TB, cli *natsCLI, inv natscliInvoice) {
	tb.Helper()
	evs := parseEvents(tb, cli.run(tb, recipeHistory, map[string]string{"<id>": inv.id}))
	if got := eventTypes(evs); !slices.Equal(got, inv.history) {
		tb.Fatalf("history %v, want %v", got, inv.history)
	}
	for _, ev := range evs {
		if ev.Invoice.ID != inv.id {
			tb.Fatalf("event %s of invoice %s in the history of %s", ev.ID, ev.Invoice.ID, inv.id)
		}
	}
	if evs[0].Invoice.Status != events.StatusCreated || evs[1].Invoice.Status != inv.status {
		tb.Fatalf("statuses %s, %s", evs[0].Invoice.Status, evs[1].Invoice.Status)
	}
}

// streamPosition is where a message is in a stream: its sequence and time.
type streamPosition struct {
	seq  uint64
	time time.Time
}

// checkNewestEvents checks the newest event recipe for each settled
// invoice, and returns the position of the newest of these events.
func checkNewestEvents(t *testing.T, s *natscliService) streamPosition {
	t.Helper()
	var newest streamPosition
	for _, inv := range s.settled() {
		t.Run(inv.name, func(t *testing.T) {
			if pos := checkNewestEvent(t, s.cli, inv); pos.seq > newest.seq {
				newest = pos
			}
		})
	}
	return newest
}

// checkNewestEvent checks that the newest event recipe shows the last
// event of inv, its current state, and returns the event's position.
func checkNewestEvent(tb testing.TB, cli *natsCLI, inv natscliInvoice) streamPosition {
	tb.Helper()
	var msg streamMessage
	decode(tb, cli.run(tb, recipeCurrent, map[string]string{"<id>": inv.id}), &msg)
	ev, err := events.Decode(msg.Data)
	if err != nil {
		tb.Fatalf("newest event: %v\n%s", err, msg.Data)
	}
	last := inv.history[len(inv.history)-1]
	if want := events.Subject(inv.id, last); msg.Subject != want {
		tb.Fatalf("subject %s, want %s", msg.Subject, want)
	}
	if ev.Type != last || ev.Invoice.ID != inv.id || ev.Invoice.Status != inv.status {
		tb.Fatalf("newest event %+v", ev)
	}
	if inv.status == events.StatusFailed && ev.Invoice.FailureReason != events.ReasonAmountExceedsLimit {
		tb.Fatalf("failed invoice with reason %q, want %q", ev.Invoice.FailureReason, events.ReasonAmountExceedsLimit)
	}
	if msg.Seq == 0 || msg.Time.IsZero() {
		tb.Fatalf("no sequence or time: %+v", msg)
	}
	return streamPosition{msg.Seq, msg.Time}
}

// consumerLag is a consumer lag recipe and what it must show.
type consumerLag struct {
	recipe, stream, consumer string
	delivered                uint64 // stream messages the consumer must be past
}

// checkConsumerLags checks the lag recipe of each of the service's
// consumers, newest being the position of the newest invoice event.
func checkConsumerLags(t *testing.T, s *natscliService, newest streamPosition) {
	t.Helper()
	for _, tt := range []consumerLag{
		{recipeProcessorLag, "INVOICES", "processor", 2}, // two requested events, the later at 2 or more
		{recipeFanoutLag, "INVOICES", "dispatcher-fanout", newest.seq},
		{recipeDispatcherLag, "WEBHOOKS", "dispatcher", uint64(len(s.deliveries))},
	} {
		t.Run(tt.consumer, func(t *testing.T) { checkConsumerLag(t, s.cli, tt) })
	}
}

// checkConsumerLag waits until the recipe shows the consumer idle, and
// checks that it is past the stream messages it must have handled.
func checkConsumerLag(tb testing.TB, cli *natsCLI, tt consumerLag) {
	tb.Helper()
	var info consumerInfo
	waitFor(tb, 20*time.Second, tt.consumer+" idle", func() (bool, string) {
		info = consumerInfo{}
		decode(tb, cli.run(tb, tt.recipe, nil), &info)
		if info.NumPending == nil || info.NumAckPending == nil || info.NumRedelivered == nil {
			tb.Fatalf("lag numbers missing: %+v", info)
		}
		return *info.NumPending == 0 && *info.NumAckPending == 0, fmt.Sprintf("%+v", info)
	})
	if info.Stream != tt.stream || info.Name != tt.consumer {
		tb.Fatalf("info of %s > %s", info.Stream, info.Name)
	}
	if info.AckFloor.StreamSeq < tt.delivered || info.Delivered.StreamSeq < info.AckFloor.StreamSeq {
		tb.Fatalf("%s acknowledged up to stream sequence %d, delivered %d; want at least %d",
			tt.consumer, info.AckFloor.StreamSeq, info.Delivered.StreamSeq, tt.delivered)
	}
}

// checkDeliveryRecords checks that the delivery keys recipe lists the
// service's deliveries, and the delivery recipe each one's record.
func checkDeliveryRecords(t *testing.T, s *natscliService) {
	t.Helper()
	keys := strings.Fields(string(s.cli.run(t, recipeDeliveryKeys, nil)))
	slices.Sort(keys)
	want := make([]string, 0, len(s.deliveries))
	for id := range s.deliveries {
		want = append(want, id)
	}
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Fatalf("keys %q, want the deliveries %q", keys, want)
	}
	for _, key := range keys {
		t.Run(key, func(t *testing.T) { checkDeliveryRecord(t, s, key) })
	}
}

// checkDeliveryRecord checks that the delivery recipe shows the delivery
// key as delivered at the first attempt, to the service's receiver.
func checkDeliveryRecord(tb testing.TB, s *natscliService, key string) {
	tb.Helper()
	var d deliveryRecord
	decode(tb, s.cli.run(tb, recipeDelivery, map[string]string{"<delivery id>": key}), &d)
	if d.ID != key || d.SubscriptionID != s.subID || d.Status != "delivered" || d.EventType != s.deliveries[key] {
		tb.Fatalf("record %+v, want delivered %s of subscription %s", d, s.deliveries[key], s.subID)
	}
	if d.InvoiceID != s.paid && d.InvoiceID != s.large {
		tb.Fatalf("record for invoice %s", d.InvoiceID)
	}
	if len(d.Attempts) != 1 {
		tb.Fatalf("attempts %+v, want one", d.Attempts)
	}
	a := d.Attempts[0]
	if a.Number != 1 || a.HTTPStatus != http.StatusNoContent || a.URL != s.hooks.url || a.StartedAt.IsZero() {
		tb.Fatalf("attempt %+v", a)
	}
	if !s.hooks.got(d.EventID) {
		tb.Fatalf("the receiver never got webhook-id %s", d.EventID)
	}
}
