package events_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/events"
)

func TestDecodeErrors(t *testing.T) {
	with := func(e events.Event, change func(*events.Event)) events.Event {
		change(&e)
		return e
	}
	tests := []struct {
		name string
		data func(testing.TB) []byte
		want error
	}{
		{"empty", func(testing.TB) []byte { return nil }, events.ErrMalformed},
		{"not JSON", func(testing.TB) []byte { return []byte("not json") }, events.ErrMalformed},
		{"truncated", func(tb testing.TB) []byte { b := mustEncode(tb, requestedEvent()); return b[:len(b)/2] }, events.ErrMalformed},
		{"JSON array", func(testing.TB) []byte { return []byte(`[1,2]`) }, events.ErrMalformed},
		{"schema as string", func(testing.TB) []byte { return []byte(`{"schema":"1"}`) }, events.ErrMalformed},
		{"amount as string", func(tb testing.TB) []byte {
			return []byte(strings.Replace(string(mustEncode(tb, requestedEvent())), `"amount_cents":12345`, `"amount_cents":"12345"`, 1))
		}, events.ErrMalformed},
		{"bad time", func(tb testing.TB) []byte {
			return []byte(strings.Replace(string(mustEncode(tb, requestedEvent())), `"time":"2024-03-09T14:30:15.123456789Z"`, `"time":"yesterday"`, 1))
		}, events.ErrMalformed},

		{"schema 0", func(tb testing.TB) []byte {
			return rawEncode(tb, with(requestedEvent(), func(e *events.Event) { e.Schema = 0 }))
		}, events.ErrMalformed},
		{"schema missing", func(testing.TB) []byte { return []byte(`{}`) }, events.ErrMalformed},
		{"schema negative", func(tb testing.TB) []byte {
			return rawEncode(tb, with(requestedEvent(), func(e *events.Event) { e.Schema = -1 }))
		}, events.ErrMalformed},
		{"schema 2", func(tb testing.TB) []byte {
			return rawEncode(tb, with(requestedEvent(), func(e *events.Event) { e.Schema = events.SchemaVersion + 1 }))
		}, events.ErrUnsupportedSchema},
		{"schema 2 with an unknown shape", func(testing.TB) []byte {
			return []byte(`{"schema":2,"type":"InvoiceRenamed","id":"x"}`)
		}, events.ErrUnsupportedSchema},

		{"unknown type", func(tb testing.TB) []byte {
			return rawEncode(tb, with(requestedEvent(), func(e *events.Event) { e.Type = "InvoiceCreated" }))
		}, events.ErrMalformed},
		{"no type", func(tb testing.TB) []byte {
			return rawEncode(tb, with(processedEvent(), func(e *events.Event) { e.Type = "" }))
		}, events.ErrMalformed},
		{"missing event id", func(tb testing.TB) []byte {
			return rawEncode(tb, with(requestedEvent(), func(e *events.Event) { e.ID = "" }))
		}, events.ErrMalformed},
		{"missing invoice id", func(tb testing.TB) []byte {
			return rawEncode(tb, with(processedEvent(), func(e *events.Event) { e.Invoice.ID = "" }))
		}, events.ErrMalformed},
		{"requested with status processed", func(tb testing.TB) []byte {
			return rawEncode(tb, with(requestedEvent(), func(e *events.Event) { e.Invoice.Status = events.StatusProcessed }))
		}, events.ErrMalformed},
		{"processed with status created", func(tb testing.TB) []byte {
			return rawEncode(tb, with(processedEvent(), func(e *events.Event) { e.Invoice.Status = events.StatusCreated }))
		}, events.ErrMalformed},
		{"processed with status failed", func(tb testing.TB) []byte {
			return rawEncode(tb, with(processedEvent(), func(e *events.Event) { e.Invoice.Status = events.StatusFailed }))
		}, events.ErrMalformed},
		{"failed with status processed", func(tb testing.TB) []byte {
			return rawEncode(tb, with(failedEvent(), func(e *events.Event) { e.Invoice.Status = events.StatusProcessed }))
		}, events.ErrMalformed},
		{"failed with no status", func(tb testing.TB) []byte {
			return rawEncode(tb, with(failedEvent(), func(e *events.Event) { e.Invoice.Status = "" }))
		}, events.ErrMalformed},
		{"requested without idempotency", func(tb testing.TB) []byte {
			return rawEncode(tb, with(requestedEvent(), func(e *events.Event) { e.Idempotency = nil }))
		}, events.ErrMalformed},
		{"requested with null idempotency", func(tb testing.TB) []byte {
			return []byte(strings.Replace(string(rawEncode(tb, with(requestedEvent(), func(e *events.Event) { e.Idempotency = nil }))),
				`"invoice":`, `"idempotency":null,"invoice":`, 1))
		}, events.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.data(t)
			got, err := events.Decode(data)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode(%s) error = %v, want %v", data, err, tt.want)
			}
			for _, other := range []error{events.ErrMalformed, events.ErrUnsupportedSchema} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("Decode(%s) error %v also matches %v", data, err, other)
				}
			}
			if !reflect.DeepEqual(got, events.Event{}) {
				t.Errorf("Decode returned %+v with its error, want the zero Event", got)
			}
		})
	}
}

func TestDecodeAcceptsEventsNotBuiltByConstructors(t *testing.T) {
	// Decode checks shape, not history: a processed event carrying an
	// idempotency record is still a valid event.
	e := processedEvent()
	idem := testIdempotency()
	e.Idempotency = &idem
	got, err := events.Decode(rawEncode(t, e))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if !reflect.DeepEqual(got, e) {
		t.Errorf("got %+v, want %+v", got, e)
	}
}

func TestDecodeMsgErrors(t *testing.T) {
	id := requestedEvent().Invoice.ID
	otherID := events.InvoiceID("caller-1", "POST /invoices", "key-2")
	tests := []struct {
		name    string
		subject string
		event   events.Event
		data    []byte // used instead of event when set
		want    []error
	}{
		{"other invoice", events.Subject("caller-1", otherID, events.InvoiceRequested), requestedEvent(), nil, []error{events.ErrMalformed}},
		{"requested under processed", events.Subject("caller-1", id, events.InvoiceProcessed), requestedEvent(), nil, []error{events.ErrMalformed}},
		{"processed under requested", events.Subject("caller-1", id, events.InvoiceRequested), processedEvent(), nil, []error{events.ErrMalformed}},
		{"processed under failed", events.Subject("caller-1", id, events.InvoiceFailed), processedEvent(), nil, []error{events.ErrMalformed}},
		{"failed under processed", events.Subject("caller-1", id, events.InvoiceProcessed), failedEvent(), nil, []error{events.ErrMalformed}},
		{"bad subject", "orders." + id + ".requested", requestedEvent(), nil, []error{events.ErrMalformed, events.ErrBadSubject}},
		{"wildcard subject", events.InvoiceSubjects(id), requestedEvent(), nil, []error{events.ErrMalformed, events.ErrBadSubject}},
		{"another account's subject", events.Subject("acme", id, events.InvoiceRequested), requestedEvent(), nil, []error{events.ErrMalformed}},
		{"an invalid account", "invoices." + id + ".requested", withCaller(requestedEvent(), "a.b"), nil, []error{events.ErrMalformed}},
		{"bad data under a good subject", events.Subject("caller-1", id, events.InvoiceRequested), events.Event{}, []byte("{"), []error{events.ErrMalformed}},
		{"newer schema under a good subject", events.Subject("caller-1", id, events.InvoiceRequested), events.Event{}, []byte(`{"schema":2}`), []error{events.ErrUnsupportedSchema}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.data
			if data == nil {
				data = mustEncode(t, tt.event)
			}
			got, err := events.DecodeMsg(tt.subject, data)
			if err == nil {
				t.Fatalf("DecodeMsg(%q, %s) = %+v, want an error", tt.subject, data, got)
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("DecodeMsg(%q) error = %v, want it to match %v", tt.subject, err, w)
				}
			}
			if !reflect.DeepEqual(got, events.Event{}) {
				t.Errorf("DecodeMsg returned %+v with its error, want the zero Event", got)
			}
		})
	}
}

func TestDecodeMsgTakesBothSubjectForms(t *testing.T) {
	named := withAccount(requestedEvent(), "acme")
	id := named.Invoice.ID
	tests := []struct {
		name    string
		subject string
		event   events.Event
	}{
		{"naming its account", events.Subject("acme", id, events.InvoiceRequested), named},
		{"naming the account of its request's caller", events.Subject("caller-1", id, events.InvoiceRequested), requestedEvent()},
		{"before accounts, an event naming none", "invoices." + id + ".requested", requestedEvent()},
		{"before accounts were in subjects, an event naming one", "invoices." + id + ".requested", named},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := events.DecodeMsg(tt.subject, mustEncode(t, tt.event))
			if err != nil || !reflect.DeepEqual(got, tt.event) {
				t.Fatalf("DecodeMsg(%q) = %+v, %v; want %+v", tt.subject, got, err, tt.event)
			}
		})
	}
}
