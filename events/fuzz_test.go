package events_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
)

// sameInstant reports whether a and b are the same instant with the same
// UTC offset. The *time.Location behind them may differ: a "+00:00" offset
// decodes as time.Local where Local is UTC, but is encoded again as "Z".
func sameInstant(a, b time.Time) bool {
	_, oa := a.Zone()
	_, ob := b.Zone()
	return a.Equal(b) && oa == ob
}

// assertSameEvent fails unless got and want are equal field by field, times
// compared as instants.
func assertSameEvent(tb testing.TB, got, want events.Event) {
	tb.Helper()
	checkTime := func(what string, g, w *time.Time) {
		tb.Helper()
		switch {
		case (g == nil) != (w == nil):
			tb.Errorf("%s: got %v, want %v", what, g, w)
		case g != nil && !sameInstant(*g, *w):
			tb.Errorf("%s: got %s, want %s", what, g.Format(time.RFC3339Nano), w.Format(time.RFC3339Nano))
		}
	}
	checkTime("Time", &got.Time, &want.Time)
	checkTime("Invoice.CreatedAt", &got.Invoice.CreatedAt, &want.Invoice.CreatedAt)
	checkTime("Invoice.ProcessedAt", got.Invoice.ProcessedAt, want.Invoice.ProcessedAt)
	checkTime("Invoice.FailedAt", got.Invoice.FailedAt, want.Invoice.FailedAt)

	// Everything else must be deeply equal.
	strip := func(e events.Event) events.Event {
		e.Time = time.Time{}
		e.Invoice.CreatedAt = time.Time{}
		e.Invoice.ProcessedAt = nil
		e.Invoice.FailedAt = nil
		return e
	}
	if g, w := strip(got), strip(want); !reflect.DeepEqual(g, w) {
		tb.Errorf("events differ\n got  %+v\n want %+v", g, w)
	}
}

func FuzzDecode(f *testing.F) {
	valid := [][]byte{
		mustEncode(f, requestedEvent()),
		mustEncode(f, processedEvent()),
		mustEncode(f, failedEvent()),
	}
	for _, b := range valid {
		f.Add(b)
	}
	req := string(valid[0])
	for _, s := range []string{
		"",
		"null",
		"{}",
		"[]",
		"not json",
		`{"schema":2}`,
		`{"schema":1,"type":"InvoiceRequested"}`,
		`{"schema":1,"id":"x","type":"InvoiceProcessed","invoice":{"id":"y","status":"processed"}}`,
		`{"schema":1,"id":"x","type":"InvoiceFailed","invoice":{"id":"y","status":"failed","metadata":null}}`,
		req[:len(req)/2],
		strings.Replace(req, `"idempotency":`, `"Idempotency":`, 1),
		strings.Replace(req, "Z\"", "+00:00\"", -1),
		strings.Replace(req, "Z\"", "+05:30\"", -1),
		strings.Replace(req, `"status":"created"`, `"status":"processed"`, 1),
		strings.Replace(req, `"cus_42"`, "\"\xff\xfe\"", 1),
	} {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := events.Decode(data)
		if err != nil {
			if !errors.Is(err, events.ErrMalformed) && !errors.Is(err, events.ErrUnsupportedSchema) {
				t.Fatalf("Decode(%q) error %v matches neither ErrMalformed nor ErrUnsupportedSchema", data, err)
			}
			return
		}
		if e.Schema < 1 || e.Schema > events.SchemaVersion {
			t.Fatalf("Decode(%q) accepted schema %d", data, e.Schema)
		}
		if e.ID == "" || e.Invoice.ID == "" {
			t.Fatalf("Decode(%q) accepted an event without IDs: %+v", data, e)
		}

		enc, err := events.Encode(e)
		if err != nil {
			t.Fatalf("Encode of decoded %q: %v", data, err)
		}
		again, err := events.Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(%q))) = %v; encoding %s", data, err, enc)
		}
		assertSameEvent(t, again, e)

		// The encoding is a fixed point after one round.
		enc2, err := events.Encode(again)
		if err != nil {
			t.Fatalf("second Encode: %v", err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable:\n%s\n%s", enc, enc2)
		}

		// Whatever decodes also decodes under its own subject.
		if _, err := events.ParseSubject(e.Subject()); err == nil {
			if _, err := events.DecodeMsg(e.Subject(), data); err != nil {
				t.Fatalf("DecodeMsg(%q, %q): %v", e.Subject(), data, err)
			}
		}
	})
}

func FuzzParseSubject(f *testing.F) {
	for _, s := range []string{
		"invoices." + testInvoiceID + ".requested",
		"invoices." + testInvoiceID + ".processed",
		"invoices." + testInvoiceID + ".failed",
		"invoices.a.failed",
		"invoices." + testInvoiceID + ".requested.acme",
		"invoices.a.failed.key_0123abcd",
		"invoices.a.failed.Acme",
		"invoices.a.failed.",
		"invoices.a.failed.b.c",
		"",
		"invoices",
		"invoices.",
		"invoices..requested",
		"invoices.a.b.requested",
		"invoices.a.requested.",
		"invoices.a.unknown",
		"invoices.*.requested",
		"invoices.>",
		"orders.a.requested",
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, subject string) {
		at, err := events.ParseSubject(subject)
		id, typ := at.ID, at.Type
		if err != nil {
			if !errors.Is(err, events.ErrBadSubject) {
				t.Fatalf("ParseSubject(%q) error %v is not ErrBadSubject", subject, err)
			}
			if at != (events.Address{}) {
				t.Fatalf("ParseSubject(%q) = %+v with error %v", subject, at, err)
			}
			return
		}
		if got := subjectOf(at); got != subject {
			t.Fatalf("ParseSubject(%q) = %+v but it is written %q", subject, at, got)
		}
		if at.Account != "" && !events.ValidAccount(at.Account) {
			t.Fatalf("ParseSubject(%q) gave account %q", subject, at.Account)
		}
		if id == "" || strings.Contains(id, ".") {
			t.Fatalf("ParseSubject(%q) gave id %q", subject, id)
		}
		known := false
		for _, k := range events.Types {
			known = known || typ == k
		}
		if !known {
			t.Fatalf("ParseSubject(%q) gave unknown type %q", subject, typ)
		}
	})
}
