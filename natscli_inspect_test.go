package main

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
)

// What the recipes of docs/INSPECTING.md for looking inside the service show: its
// streams, subjects, an invoice's events and newest event, the consumers'
// lag, the live webhook delivery records and the read model.

// checkStreamList checks that the streams recipe lists the service's
// streams and its buckets' KV_ streams.
func checkStreamList(tb testing.TB, s *natscliService) {
	tb.Helper()
	var names []string
	decode(tb, s.cli.run(tb, recipeStreams, nil), &names)
	for _, want := range []string{"INVOICES", "WEBHOOKS", newestSegment, "KV_webhook_subscriptions", "KV_webhook_deliveries"} {
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
		"invoices." + s.paid + ".requested.default":  1,
		"invoices." + s.paid + ".processed.default":  1,
		"invoices." + s.large + ".requested.default": 1,
		"invoices." + s.large + ".failed.default":    1,
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

// checkAccount checks that the account recipe shows every event of the
// default account's invoices, which without API keys are all there are.
func checkAccount(tb testing.TB, s *natscliService) {
	tb.Helper()
	evs := parseEvents(tb, s.cli.run(tb, recipeAccount, map[string]string{"<account>": events.DefaultAccount}))
	var got []string
	for _, ev := range evs {
		got = append(got, ev.Invoice.ID+" "+string(ev.Type))
	}
	var want []string
	for _, inv := range s.settled() {
		for _, typ := range inv.history {
			want = append(want, inv.id+" "+string(typ))
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		tb.Fatalf("account default shows %q, want %q", got, want)
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
	if want := events.Subject(events.DefaultAccount, inv.id, last); msg.Subject != want {
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
	t.Run("history", func(t *testing.T) { checkHistoryLag(t, s, newest) })
}

// checkHistoryLag waits until the history recipe shows the newest segment
// copying both streams with nothing left to copy, and holding at least
// what the service made.
func checkHistoryLag(tb testing.TB, s *natscliService, newest streamPosition) {
	tb.Helper()
	var info struct {
		State struct {
			Msgs uint64 `json:"messages"`
		} `json:"state"`
		Sources []struct {
			Name string  `json:"name"`
			Lag  *uint64 `json:"lag"`
		} `json:"sources"`
	}
	waitFor(tb, 20*time.Second, "history caught up", func() (bool, string) {
		info.Sources = nil
		decode(tb, s.cli.run(tb, recipeHistoryLag, nil), &info)
		lagging := len(info.Sources) != 2
		for _, src := range info.Sources {
			lagging = lagging || src.Lag == nil || *src.Lag != 0 || (src.Name != "INVOICES" && src.Name != "WEBHOOKS")
		}
		return !lagging && info.State.Msgs >= newest.seq+uint64(len(s.deliveries)), fmt.Sprintf("%+v", info)
	})
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
// deliveries still in play, the failing one, and the delivery recipe its
// record: the delivered ones have left the bucket.
func checkDeliveryRecords(t *testing.T, s *natscliService) {
	t.Helper()
	keys := strings.Fields(string(s.cli.run(t, recipeDeliveryKeys, nil)))
	if !slices.Equal(keys, []string{s.failing}) {
		t.Fatalf("keys %q, want the failing delivery %s", keys, s.failing)
	}
	var d deliveryRecord
	decode(t, s.cli.run(t, recipeDelivery, map[string]string{"<delivery id>": s.failing}), &d)
	if d.ID != s.failing || d.Status != "failing" || d.InvoiceID != s.large || d.EventType != "invoice.failed" {
		t.Fatalf("record %+v, want the failing delivery of invoice %s", d, s.large)
	}
	if len(d.Attempts) == 0 || d.Attempts[0].HTTPStatus != http.StatusServiceUnavailable {
		t.Fatalf("attempts %+v, want a first one answered 503", d.Attempts)
	}
}

// checkReadModel checks that the read model recipes count the invoices by
// status, show an invoice's events and a delivered delivery's record.
func checkReadModel(t *testing.T, s *natscliService) {
	t.Helper()
	counts := strings.TrimSpace(string(s.cli.run(t, recipeModelCounts, nil)))
	if counts != "failed|1\nprocessed|1" {
		t.Fatalf("counts %q, want one failed and one processed", counts)
	}
	for _, inv := range s.settled() {
		t.Run(inv.name, func(t *testing.T) {
			row := strings.TrimSpace(string(s.cli.run(t, recipeModelInvoice, map[string]string{"<id>": inv.id})))
			requested, outcome, ok := strings.Cut(row, "}|{")
			if !ok {
				t.Fatalf("row %q, want the two events", row)
			}
			evs := parseEvents(t, []byte(requested+"}\n{"+outcome))
			if got := eventTypes(evs); !slices.Equal(got, inv.history) || evs[1].Invoice.Status != inv.status {
				t.Fatalf("events %v, want %v ending %s", got, inv.history, inv.status)
			}
		})
	}
	for key, eventType := range s.deliveries {
		var d deliveryRecord
		decode(t, s.cli.run(t, recipeModelDelivery, map[string]string{"<delivery id>": key}), &d)
		if d.ID != key || d.SubscriptionID != s.subID || d.Status != "delivered" || d.EventType != eventType {
			t.Fatalf("record %+v, want delivered %s of subscription %s", d, eventType, s.subID)
		}
		if len(d.Attempts) != 1 || d.Attempts[0].HTTPStatus != http.StatusNoContent || d.Attempts[0].URL != s.hooks.url {
			t.Fatalf("attempts %+v, want one answered 204 at %s", d.Attempts, s.hooks.url)
		}
		if !s.hooks.got(d.EventID) {
			t.Fatalf("the receiver never got webhook-id %s", d.EventID)
		}
	}
}

// checkHistorySubjects checks that the history's subjects recipe counts
// every invoice event and settled delivery, on the partitions, and that
// the newest stored recipe shows the newest invoice event; it returns
// that event's position in the history.
func checkHistorySubjects(t *testing.T, s *natscliService) streamPosition {
	t.Helper()
	var counts map[string]int
	waitFor(t, 20*time.Second, "the history holds every event and settled delivery", func() (bool, string) {
		counts = nil
		decode(t, s.cli.run(t, recipeHistorySubjects, nil), &counts)
		return sumWhere(counts, "history.invoices.") == 4 && sumWhere(counts, "history.deliveries.") == len(s.deliveries), fmt.Sprint(counts)
	})
	for subject := range counts {
		if !historySubject.MatchString(subject) {
			t.Fatalf("history subject %q is not on a partition", subject)
		}
	}
	var msg streamMessage
	decode(t, s.cli.run(t, recipeNewestStored, nil), &msg)
	ev, err := events.Decode(msg.Data)
	if err != nil || (ev.Invoice.ID != s.paid && ev.Invoice.ID != s.large) || ev.Type == events.InvoiceRequested {
		t.Fatalf("newest stored %s: %+v, %v", msg.Subject, ev, err)
	}
	return streamPosition{msg.Seq, msg.Time}
}

// historySubject is the form of the history's subjects.
var historySubject = regexp.MustCompile(`^history\.(invoices\.([0-9]|1[0-5])\.(requested|processed|failed)|deliveries\.([0-9]|1[0-5]))$`)

// sumWhere adds the counts of the subjects that start with prefix.
func sumWhere(counts map[string]int, prefix string) int {
	n := 0
	for subject, c := range counts {
		if strings.HasPrefix(subject, prefix) {
			n += c
		}
	}
	return n
}
