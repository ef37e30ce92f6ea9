package events_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/events"
)

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
