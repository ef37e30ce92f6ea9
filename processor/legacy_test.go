package processor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/events"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// legacyAccount is the account of a key that made invoices before
// accounts existed: its idempotency scope.
const legacyAccount = "key_0123456789abcdef"

// storeLegacy publishes ev under the subject it had before accounts
// existed, invoices.<id>.<kind>, as a version of that time did.
func (f *fixture) storeLegacy(t testing.TB, ev events.Event) uint64 {
	t.Helper()
	data, err := events.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	subject := strings.TrimSuffix(ev.Subject(), "."+ev.Account())
	ack, err := f.js.PublishMsg(context.Background(), &nats.Msg{Subject: subject, Data: data}, jetstream.WithMsgID(ev.ID))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type == events.InvoiceRequested {
		f.lastRequest = max(f.lastRequest, ack.Sequence)
	}
	return ack.Sequence
}

func legacyRequest() events.Event {
	id := uuid.NewString()
	return events.NewRequested(events.Invoice{ID: id, CustomerID: "c", AmountCents: 10, Currency: "USD", CreatedAt: time.Now().UTC()},
		events.Idempotency{Caller: legacyAccount, Endpoint: "POST /invoices", Key: id, RequestHash: "h"})
}

func TestARequestStoredBeforeAccountsGetsAnOutcomeNamingItsAccount(t *testing.T) {
	f := newFixture(t)
	req := legacyRequest()
	f.storeLegacy(t, req)
	f.start(t, Config{}, nil)
	out := wantOneOutcome(t, f.awaitOutcome(t, req.Invoice.ID), events.InvoiceProcessed)
	if out.Invoice.Account != legacyAccount {
		t.Fatalf("outcome names account %q, want %q, the request's", out.Invoice.Account, legacyAccount)
	}
	last, err := f.stream.GetLastMsgForSubject(context.Background(), events.InvoiceSubjects(req.Invoice.ID))
	if want := events.Subject(legacyAccount, req.Invoice.ID, events.InvoiceProcessed); err != nil || last.Subject != want {
		t.Fatalf("outcome stored under %v (%v), want %s", last, err, want)
	}
}

func TestAnOutcomeStoredBeforeAccountsCountsAsTheOutcome(t *testing.T) {
	f := newFixture(t)
	req := legacyRequest()
	f.storeLegacy(t, req)
	f.storeLegacy(t, events.NewFailed(req.Invoice, time.Now(), events.ReasonAmountExceedsLimit))
	p := f.start(t, Config{}, nil)
	f.awaitIdle(t)
	if hist := f.history(t, req.Invoice.ID); len(hist) != 2 || hist[1].Type != events.InvoiceFailed {
		t.Fatalf("history %+v, want the request and the outcome stored before accounts, and nothing more", hist)
	}
	if p.Skipped() != 0 {
		t.Fatalf("%d skipped, want none", p.Skipped())
	}
}
