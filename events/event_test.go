package events_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
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

func TestConstructors(t *testing.T) {
	processedAt := createdAt.Add(1500 * time.Millisecond)
	failedAt := createdAt.Add(2*time.Second + 7)
	inv := testInvoice()
	id := inv.ID

	tests := []struct {
		name  string
		event events.Event
		want  events.Event
	}{
		{
			name:  "requested",
			event: requestedEvent(),
			want: func() events.Event {
				w := testInvoice()
				w.Status = events.StatusCreated
				idem := testIdempotency()
				return events.Event{
					Schema: events.SchemaVersion, ID: events.EventID(id, events.InvoiceRequested),
					Type: events.InvoiceRequested, Time: createdAt, Invoice: w, Idempotency: &idem,
				}
			}(),
		},
		{
			name: "requested ignores the given status",
			event: func() events.Event {
				in := testInvoice()
				in.Status = events.StatusFailed
				return events.NewRequested(in, testIdempotency())
			}(),
			want: requestedEvent(),
		},
		{
			name:  "processed",
			event: processedEvent(),
			want: func() events.Event {
				w := testInvoice()
				w.Status = events.StatusProcessed
				at := processedAt
				w.ProcessedAt = &at
				return events.Event{
					Schema: events.SchemaVersion, ID: events.EventID(id, events.InvoiceProcessed),
					Type: events.InvoiceProcessed, Time: processedAt, Invoice: w,
				}
			}(),
		},
		{
			name:  "processed normalises the time to UTC",
			event: events.NewProcessed(requestedEvent().Invoice, processedAt.In(time.FixedZone("CET", 3600))),
			want:  processedEvent(),
		},
		{
			name:  "failed",
			event: failedEvent(),
			want: func() events.Event {
				w := testInvoice()
				w.Status = events.StatusFailed
				at := failedAt
				w.FailedAt = &at
				w.FailureReason = events.ReasonAmountExceedsLimit
				return events.Event{
					Schema: events.SchemaVersion, ID: events.EventID(id, events.InvoiceFailed),
					Type: events.InvoiceFailed, Time: failedAt, Invoice: w,
				}
			}(),
		},
		{
			name:  "failed normalises the time to UTC",
			event: events.NewFailed(requestedEvent().Invoice, failedAt.In(time.FixedZone("PST", -8*3600)), events.ReasonAmountExceedsLimit),
			want:  failedEvent(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.event, tt.want) {
				t.Errorf("got  %+v\nwant %+v", tt.event, tt.want)
			}
			if got, want := tt.event.Subject(), events.Subject(id, tt.want.Type); got != want {
				t.Errorf("Subject() = %q, want %q", got, want)
			}
		})
	}
}

func TestConstructorsDoNotMutateInput(t *testing.T) {
	prev := requestedEvent().Invoice
	_ = events.NewProcessed(prev, createdAt.Add(time.Second))
	_ = events.NewFailed(prev, createdAt.Add(time.Second), events.ReasonAmountExceedsLimit)
	if prev.Status != events.StatusCreated || prev.ProcessedAt != nil || prev.FailedAt != nil || prev.FailureReason != "" {
		t.Errorf("constructors changed their input: %+v", prev)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	// A time with a monotonic reading and a local zone, as a processor
	// would pass from time.Now().
	now := time.Now().In(time.FixedZone("X", 5*3600+1800))
	tests := []struct {
		name  string
		event events.Event
	}{
		{"requested", requestedEvent()},
		{"processed", processedEvent()},
		{"failed", failedEvent()},
		{"processed now", events.NewProcessed(requestedEvent().Invoice, now)},
		{"failed now", events.NewFailed(requestedEvent().Invoice, now, "other reason")},
		{"requested without metadata", func() events.Event {
			inv := testInvoice()
			inv.Metadata = nil
			return events.NewRequested(inv, testIdempotency())
		}()},
		{"requested with empty metadata", func() events.Event {
			inv := testInvoice()
			inv.Metadata = map[string]string{}
			return events.NewRequested(inv, testIdempotency())
		}()},
		{"requested with empty idempotency record", events.NewRequested(testInvoice(), events.Idempotency{})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := mustEncode(t, tt.event)

			got, err := events.Decode(data)
			if err != nil {
				t.Fatalf("Decode(%s): %v", data, err)
			}
			if !reflect.DeepEqual(got, tt.event) {
				t.Errorf("Decode(Encode(e)) differs\n got  %+v\n want %+v", got, tt.event)
			}
			assertTimeExact(t, "Time", got.Time, tt.event.Time)
			assertTimeExact(t, "Invoice.CreatedAt", got.Invoice.CreatedAt, tt.event.Invoice.CreatedAt)
			if tt.event.Invoice.ProcessedAt != nil {
				if got.Invoice.ProcessedAt == nil {
					t.Fatal("Invoice.ProcessedAt lost")
				}
				assertTimeExact(t, "Invoice.ProcessedAt", *got.Invoice.ProcessedAt, *tt.event.Invoice.ProcessedAt)
			}
			if tt.event.Invoice.FailedAt != nil {
				if got.Invoice.FailedAt == nil {
					t.Fatal("Invoice.FailedAt lost")
				}
				assertTimeExact(t, "Invoice.FailedAt", *got.Invoice.FailedAt, *tt.event.Invoice.FailedAt)
			}

			gotMsg, err := events.DecodeMsg(tt.event.Subject(), data)
			if err != nil {
				t.Fatalf("DecodeMsg(%q): %v", tt.event.Subject(), err)
			}
			if !reflect.DeepEqual(gotMsg, tt.event) {
				t.Errorf("DecodeMsg(Subject(), Encode(e)) differs\n got  %+v\n want %+v", gotMsg, tt.event)
			}
		})
	}
}

func TestEncodeWireNames(t *testing.T) {
	// The JSON field names are the contract other programs read; renaming a
	// Go field must not change them.
	tests := []struct {
		name  string
		event events.Event
		keys  []string
		nokey []string
	}{
		{
			name:  "requested",
			event: requestedEvent(),
			keys: []string{
				`"schema":1`, `"type":"InvoiceRequested"`, `"idempotency":{`, `"caller":"caller-1"`,
				`"endpoint":"POST /invoices"`, `"key":"key-1"`, `"request_hash":"sha256:0123456789abcdef"`,
				`"status":"created"`, `"customer_id":"cus_42"`, `"amount_cents":12345`, `"currency":"EUR"`,
				`"metadata":{`, `"created_at":"2024-03-09T14:30:15.123456789Z"`, `"time":"2024-03-09T14:30:15.123456789Z"`,
			},
			nokey: []string{`"processed_at"`, `"failed_at"`, `"failure_reason"`},
		},
		{
			name:  "processed",
			event: processedEvent(),
			keys:  []string{`"type":"InvoiceProcessed"`, `"status":"processed"`, `"processed_at":"2024-03-09T14:30:16.623456789Z"`},
			nokey: []string{`"idempotency"`, `"failed_at"`, `"failure_reason"`},
		},
		{
			name:  "failed",
			event: failedEvent(),
			keys:  []string{`"type":"InvoiceFailed"`, `"status":"failed"`, `"failed_at":"2024-03-09T14:30:17.123456796Z"`, `"failure_reason":"amount_exceeds_limit"`},
			nokey: []string{`"idempotency"`, `"processed_at"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := string(mustEncode(t, tt.event))
			for _, k := range tt.keys {
				if !strings.Contains(s, k) {
					t.Errorf("encoding lacks %s:\n%s", k, s)
				}
			}
			for _, k := range tt.nokey {
				if strings.Contains(s, k) {
					t.Errorf("encoding has %s:\n%s", k, s)
				}
			}
		})
	}
}

func TestInvoiceID(t *testing.T) {
	base := events.InvoiceID("caller", "POST /invoices", "key")
	if again := events.InvoiceID("caller", "POST /invoices", "key"); again != base {
		t.Fatalf("InvoiceID is not deterministic: %q then %q", base, again)
	}
	u, err := uuid.Parse(base)
	if err != nil {
		t.Fatalf("InvoiceID %q is not a UUID: %v", base, err)
	}
	if u.Version() != 5 {
		t.Errorf("InvoiceID %q is UUID version %d, want 5", base, u.Version())
	}

	tests := []struct {
		name                  string
		caller, endpoint, key string
	}{
		{"other caller", "caller2", "POST /invoices", "key"},
		{"other endpoint", "caller", "POST /refunds", "key"},
		{"other key", "caller", "POST /invoices", "key2"},
		{"empty key", "caller", "POST /invoices", ""},
		{"caller and key swapped", "key", "POST /invoices", "caller"},
		{"boundary moved between caller and endpoint", "callerP", "OST /invoices", "key"},
		{"boundary moved between endpoint and key", "caller", "POST /invoicesk", "ey"},
	}
	seen := map[string]string{base: "base"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := events.InvoiceID(tt.caller, tt.endpoint, tt.key)
			if prev, dup := seen[got]; dup {
				t.Errorf("InvoiceID(%q, %q, %q) = %q, same as %s", tt.caller, tt.endpoint, tt.key, got, prev)
			}
			seen[got] = tt.name
		})
	}
}

func TestEventID(t *testing.T) {
	id := events.InvoiceID("caller", "POST /invoices", "key")
	other := events.InvoiceID("caller", "POST /invoices", "key2")

	for _, typ := range events.Types {
		t.Run("deterministic/"+string(typ), func(t *testing.T) {
			a, b := events.EventID(id, typ), events.EventID(id, typ)
			if a != b {
				t.Errorf("EventID(%q, %s) = %q then %q", id, typ, a, b)
			}
			u, err := uuid.Parse(a)
			if err != nil {
				t.Fatalf("EventID %q is not a UUID: %v", a, err)
			}
			if u.Version() != 5 {
				t.Errorf("EventID %q is UUID version %d, want 5", a, u.Version())
			}
			if a == id {
				t.Errorf("EventID(%q, %s) equals the invoice ID", id, typ)
			}
		})
	}

	tests := []struct {
		name   string
		a, b   string
		wantEq bool
	}{
		{"processed and failed share the outcome ID", events.EventID(id, events.InvoiceProcessed), events.EventID(id, events.InvoiceFailed), true},
		{"requested differs from processed", events.EventID(id, events.InvoiceRequested), events.EventID(id, events.InvoiceProcessed), false},
		{"requested differs from failed", events.EventID(id, events.InvoiceRequested), events.EventID(id, events.InvoiceFailed), false},
		{"requested differs between invoices", events.EventID(id, events.InvoiceRequested), events.EventID(other, events.InvoiceRequested), false},
		{"outcome differs between invoices", events.EventID(id, events.InvoiceProcessed), events.EventID(other, events.InvoiceProcessed), false},
		{"constructors use EventID", processedEvent().ID, failedEvent().ID, true},
		{"requested event differs from its outcome", requestedEvent().ID, processedEvent().ID, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a == tt.b; got != tt.wantEq {
				t.Errorf("%q == %q is %v, want %v", tt.a, tt.b, got, tt.wantEq)
			}
		})
	}
}

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
		{"other invoice", events.Subject(otherID, events.InvoiceRequested), requestedEvent(), nil, []error{events.ErrMalformed}},
		{"requested under processed", events.Subject(id, events.InvoiceProcessed), requestedEvent(), nil, []error{events.ErrMalformed}},
		{"processed under requested", events.Subject(id, events.InvoiceRequested), processedEvent(), nil, []error{events.ErrMalformed}},
		{"processed under failed", events.Subject(id, events.InvoiceFailed), processedEvent(), nil, []error{events.ErrMalformed}},
		{"failed under processed", events.Subject(id, events.InvoiceProcessed), failedEvent(), nil, []error{events.ErrMalformed}},
		{"bad subject", "orders." + id + ".requested", requestedEvent(), nil, []error{events.ErrMalformed, events.ErrBadSubject}},
		{"wildcard subject", events.InvoiceSubjects(id), requestedEvent(), nil, []error{events.ErrMalformed, events.ErrBadSubject}},
		{"bad data under a good subject", events.Subject(id, events.InvoiceRequested), events.Event{}, []byte("{"), []error{events.ErrMalformed}},
		{"newer schema under a good subject", events.Subject(id, events.InvoiceRequested), events.Event{}, []byte(`{"schema":2}`), []error{events.ErrUnsupportedSchema}},
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

func TestStatusValid(t *testing.T) {
	tests := []struct {
		s    events.Status
		want bool
	}{
		{events.StatusCreated, true},
		{events.StatusProcessed, true},
		{events.StatusFailed, true},
		{"", false},
		{"Created", false},
		{"refunded", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.s), func(t *testing.T) {
			if got := tt.s.Valid(); got != tt.want {
				t.Errorf("Status(%q).Valid() = %v, want %v", tt.s, got, tt.want)
			}
		})
	}
}
