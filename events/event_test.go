package events_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
)

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
			if got, want := tt.event.Subject(), events.Subject(tt.want.Account(), id, tt.want.Type); got != want {
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

func TestEventAccount(t *testing.T) {
	requested := events.NewRequested(testInvoice(), testIdempotency())
	named := requested
	named.Invoice.Account = "acme"
	legacyOutcome := events.NewProcessed(testInvoice(), createdAt)
	for name, tt := range map[string]struct {
		e    events.Event
		want string
	}{
		"named":                         {named, "acme"},
		"an outcome inherits it":        {events.NewProcessed(named.Invoice, createdAt), "acme"},
		"stored before accounts":        {requested, "caller-1"},
		"an outcome before accounts":    {legacyOutcome, events.DefaultAccount},
		"requested without idempotency": {events.Event{Type: events.InvoiceRequested}, events.DefaultAccount},
	} {
		if got := tt.e.Account(); got != tt.want {
			t.Errorf("%s: Account() = %q, want %q", name, got, tt.want)
		}
	}
}

func TestValidAccount(t *testing.T) {
	for name, want := range map[string]bool{
		"acme": true, "a": true, "key_0123abcd": true, "acme-eu_2": true, strings.Repeat("a", 63): true,
		"": false, "Acme": false, "_a": false, "-a": false, "a.b": false, "a b": false, "a*": false, "a>": false,
		strings.Repeat("a", 64): false, "é": false,
	} {
		if got := events.ValidAccount(name); got != want {
			t.Errorf("ValidAccount(%q) = %v", name, got)
		}
	}
}
