package events_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
)

// createdAt has nanoseconds so a round trip that loses precision fails.
var createdAt = time.Date(2024, time.March, 9, 14, 30, 15, 123456789, time.UTC)

func testInvoice() events.Invoice {
	return events.Invoice{
		ID:          events.InvoiceID("caller-1", "POST /invoices", "key-1"),
		CustomerID:  "cus_42",
		AmountCents: 12345,
		Currency:    "EUR",
		Description: "Consulting, <March> & \"more\" — ünïcode",
		Metadata:    map[string]string{"po": "PO-7", "empty": ""},
		CreatedAt:   createdAt,
	}
}

func testIdempotency() events.Idempotency {
	return events.Idempotency{
		Caller:      "caller-1",
		Endpoint:    "POST /invoices",
		Key:         "key-1",
		RequestHash: "sha256:0123456789abcdef",
	}
}

func requestedEvent() events.Event {
	return events.NewRequested(testInvoice(), testIdempotency())
}

func processedEvent() events.Event {
	return events.NewProcessed(requestedEvent().Invoice, createdAt.Add(1500*time.Millisecond))
}

func failedEvent() events.Event {
	return events.NewFailed(requestedEvent().Invoice, createdAt.Add(2*time.Second+7), events.ReasonAmountExceedsLimit)
}

func mustEncode(tb testing.TB, e events.Event) []byte {
	tb.Helper()
	b, err := events.Encode(e)
	if err != nil {
		tb.Fatalf("Encode(%s %s): %v", e.Type, e.ID, err)
	}
	return b
}

// rawEncode encodes e without going through Encode, for events that the
// constructors would never build.
func rawEncode(tb testing.TB, e events.Event) []byte {
	tb.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		tb.Fatalf("json.Marshal: %v", err)
	}
	return b
}

func assertTimeExact(tb testing.TB, what string, got, want time.Time) {
	tb.Helper()
	if !got.Equal(want) {
		tb.Errorf("%s = %s, want %s", what, got.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
	}
	if got.Nanosecond() != want.Nanosecond() {
		tb.Errorf("%s nanoseconds = %d, want %d", what, got.Nanosecond(), want.Nanosecond())
	}
}

func withAccount(e events.Event, account string) events.Event {
	e.Invoice.Account = account
	return e
}

func withCaller(e events.Event, caller string) events.Event {
	idem := *e.Idempotency
	idem.Caller = caller
	e.Idempotency = &idem
	return e
}

// subjectOf returns the subject at is parsed from, in either form.
func subjectOf(at events.Address) string {
	if at.Account == "" {
		return strings.TrimSuffix(events.Subject("x", at.ID, at.Type), ".x")
	}
	return events.Subject(at.Account, at.ID, at.Type)
}
