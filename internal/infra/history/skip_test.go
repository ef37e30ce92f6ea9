package history_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/invoiced/invoiced/internal/infra/history"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/invoiced/invoiced/internal/testing/statetest"
)

func TestSkipsLogAndCountEachMessageOnceWithoutItsPayload(t *testing.T) {
	var out bytes.Buffer
	s := history.NewSkips("reader", slog.New(slog.NewTextHandler(&out, nil)))
	payload := strings.Repeat("payload ", 1000)
	m := history.Skipped{Stream: "INVOICES", Seq: 7, Subject: "invoices.x.requested", Err: errors.New("bad: \xff" + payload)}
	s.Skip(m)
	s.Skip(m) // read again, as a page viewed twice
	s.Skip(history.Skipped{Stream: "INVOICES", Seq: 8, Subject: "invoices.y", Err: errors.New("bad")})
	if s.Count() != 2 {
		t.Errorf("counted %d, want 2", s.Count())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), out.String())
	}
	for _, want := range []string{"reader=reader", "stream=INVOICES", "seq=7", "subject=invoices.x.requested"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("%q lacks %q", lines[0], want)
		}
	}
	if len(lines[0]) > 500 || strings.Contains(lines[0], "\xff") {
		t.Errorf("the line holds the payload or invalid UTF-8: %d bytes: %.600s", len(lines[0]), lines[0])
	}
	var none *history.Skips
	none.Skip(m) // a reader given none records nothing, and does not fail
	if none.Count() != 0 {
		t.Error("a nil Skips counted")
	}
}

func TestTheHistoryIsNotAwaitedForWhatItNeverCopies(t *testing.T) {
	_, js := natstest.Connect(t, natstest.Start(t, natstest.Options{}))
	h := statetest.Streams(t, js, broker.Streams{})
	ctx := context.Background()
	id := uuid.NewString()
	statetest.Publish(t, js, events.NewRequested(events.Invoice{ID: id, CustomerID: "c", AmountCents: 1, Currency: "USD", CreatedAt: time.Now()},
		events.Idempotency{Caller: "t", Endpoint: "e", Key: "k", RequestHash: "h"}))
	for _, subject := range []string{"invoices." + id, "invoices." + id + ".requested.more.tokens"} {
		if _, err := js.Publish(ctx, subject, []byte(`{"schema":1}`)); err != nil {
			t.Fatal(err)
		}
	}
	for subject, copied := range map[string]bool{
		"invoices." + id: false, "invoices." + id + ".unknown": true, "invoices." + id + ".requested.acme": true,
		"invoices." + id + ".requested.more.tokens": false, "invoices." + id + "..acme": false, "orders." + id + ".requested": false,
	} {
		if history.CopiesInvoice(subject) != copied {
			t.Errorf("CopiesInvoice(%q) = %v: it disagrees with the segments' sources (invoices.*.* and invoices.*.*.*)", subject, !copied)
		}
	}
	uncopied, err := history.Uncopied(ctx, h.Invoices, 0, 3)
	if err != nil || len(uncopied) != 0 {
		t.Fatalf("Uncopied from 0: %d messages, %v; want none, the first is copied", len(uncopied), err)
	}
	uncopied, err = history.Uncopied(ctx, h.Invoices, 1, 3)
	if err != nil || len(uncopied) != 2 || uncopied[0].Sequence != 2 || uncopied[1].Sequence != 3 {
		t.Fatalf("Uncopied from 1: %v, %v; want messages 2 and 3", uncopied, err)
	}
	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := history.AwaitInvoices(wait, js); err != nil {
		t.Fatalf("awaiting the history with uncopied messages last on INVOICES: %v", err)
	}
}
