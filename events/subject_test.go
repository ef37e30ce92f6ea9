package events_test

import (
	"errors"
	"testing"

	"github.com/invoiced/invoiced/events"
)

const testInvoiceID = "3f1c9a52-8d6e-5b7a-9e41-0c2d7f8b6a13"

func TestSubject(t *testing.T) {
	tests := []struct {
		name string
		id   string
		typ  events.Type
		want string
	}{
		{"requested", testInvoiceID, events.InvoiceRequested, "invoices." + testInvoiceID + ".requested"},
		{"processed", testInvoiceID, events.InvoiceProcessed, "invoices." + testInvoiceID + ".processed"},
		{"failed", testInvoiceID, events.InvoiceFailed, "invoices." + testInvoiceID + ".failed"},
		{"short id", "x", events.InvoiceFailed, "invoices.x.failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := events.Subject(tt.id, tt.typ); got != tt.want {
				t.Errorf("Subject(%q, %s) = %q, want %q", tt.id, tt.typ, got, tt.want)
			}
		})
	}
}

func TestEventSubjectMatchesSubject(t *testing.T) {
	for _, typ := range events.Types {
		t.Run(string(typ), func(t *testing.T) {
			e := events.Event{Type: typ, Invoice: events.Invoice{ID: testInvoiceID}}
			if got, want := e.Subject(), events.Subject(testInvoiceID, typ); got != want {
				t.Errorf("Event.Subject() = %q, want %q", got, want)
			}
		})
	}
}

func TestSubjectUnknownTypeDoesNotParse(t *testing.T) {
	// Whatever Subject makes of a type outside Types, ParseSubject must not
	// read it back as one of the defined types.
	for _, typ := range []events.Type{"", "InvoiceCreated", "invoicerequested"} {
		t.Run(string(typ), func(t *testing.T) {
			s := events.Subject(testInvoiceID, typ)
			id, got, err := events.ParseSubject(s)
			if !errors.Is(err, events.ErrBadSubject) {
				t.Fatalf("ParseSubject(%q) = %q, %q, %v; want ErrBadSubject", s, id, got, err)
			}
		})
	}
}

func TestInvoiceSubjects(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want string
	}{
		{"uuid", testInvoiceID, "invoices." + testInvoiceID + ".*"},
		{"short", "abc", "invoices.abc.*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := events.InvoiceSubjects(tt.id); got != tt.want {
				t.Errorf("InvoiceSubjects(%q) = %q, want %q", tt.id, got, tt.want)
			}
		})
	}
}

func TestKindSubjects(t *testing.T) {
	tests := []struct {
		typ  events.Type
		want string
	}{
		{events.InvoiceRequested, "invoices.*.requested"},
		{events.InvoiceProcessed, "invoices.*.processed"},
		{events.InvoiceFailed, "invoices.*.failed"},
	}
	for _, tt := range tests {
		t.Run(string(tt.typ), func(t *testing.T) {
			if got := events.KindSubjects(tt.typ); got != tt.want {
				t.Errorf("KindSubjects(%s) = %q, want %q", tt.typ, got, tt.want)
			}
		})
	}
}

func TestAllSubjectsCoversEverySubject(t *testing.T) {
	if events.AllSubjects != "invoices.>" {
		t.Errorf("AllSubjects = %q, want %q", events.AllSubjects, "invoices.>")
	}
	if events.SubjectPrefix != "invoices" {
		t.Errorf("SubjectPrefix = %q, want %q", events.SubjectPrefix, "invoices")
	}
}

func TestParseSubject(t *testing.T) {
	tests := []struct {
		name    string
		subject string
		wantID  string
		wantTyp events.Type
		wantErr bool
	}{
		{name: "requested", subject: "invoices." + testInvoiceID + ".requested", wantID: testInvoiceID, wantTyp: events.InvoiceRequested},
		{name: "processed", subject: "invoices." + testInvoiceID + ".processed", wantID: testInvoiceID, wantTyp: events.InvoiceProcessed},
		{name: "failed", subject: "invoices." + testInvoiceID + ".failed", wantID: testInvoiceID, wantTyp: events.InvoiceFailed},
		{name: "short id", subject: "invoices.a.failed", wantID: "a", wantTyp: events.InvoiceFailed},

		{name: "empty", subject: "", wantErr: true},
		{name: "prefix only", subject: "invoices", wantErr: true},
		{name: "prefix and dot", subject: "invoices.", wantErr: true},
		{name: "wrong prefix", subject: "orders." + testInvoiceID + ".requested", wantErr: true},
		{name: "singular prefix", subject: "invoice." + testInvoiceID + ".requested", wantErr: true},
		{name: "upper case prefix", subject: "INVOICES." + testInvoiceID + ".requested", wantErr: true},
		{name: "prefix glued to more", subject: "invoicesx." + testInvoiceID + ".requested", wantErr: true},
		{name: "leading dot", subject: ".invoices." + testInvoiceID + ".requested", wantErr: true},
		{name: "missing id", subject: "invoices..requested", wantErr: true},
		{name: "missing id and dot", subject: "invoices.requested", wantErr: true},
		{name: "missing kind", subject: "invoices." + testInvoiceID, wantErr: true},
		{name: "empty kind", subject: "invoices." + testInvoiceID + ".", wantErr: true},
		{name: "extra token after kind", subject: "invoices." + testInvoiceID + ".requested.x", wantErr: true},
		{name: "extra token before kind", subject: "invoices." + testInvoiceID + ".x.requested", wantErr: true},
		{name: "trailing dot", subject: "invoices." + testInvoiceID + ".requested.", wantErr: true},
		{name: "unknown kind", subject: "invoices." + testInvoiceID + ".created", wantErr: true},
		{name: "kind of unknown type", subject: "invoices." + testInvoiceID + ".unknown", wantErr: true},
		{name: "kind in wrong case", subject: "invoices." + testInvoiceID + ".Requested", wantErr: true},
		{name: "type name as kind", subject: "invoices." + testInvoiceID + ".InvoiceRequested", wantErr: true},
		{name: "wildcard kind", subject: "invoices." + testInvoiceID + ".*", wantErr: true},
		{name: "all subjects filter", subject: events.AllSubjects, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, typ, err := events.ParseSubject(tt.subject)
			if tt.wantErr {
				if !errors.Is(err, events.ErrBadSubject) {
					t.Fatalf("ParseSubject(%q) error = %v, want ErrBadSubject", tt.subject, err)
				}
				if id != "" || typ != "" {
					t.Errorf("ParseSubject(%q) = %q, %q with an error, want empty results", tt.subject, id, typ)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSubject(%q): %v", tt.subject, err)
			}
			if id != tt.wantID || typ != tt.wantTyp {
				t.Errorf("ParseSubject(%q) = %q, %q; want %q, %q", tt.subject, id, typ, tt.wantID, tt.wantTyp)
			}
		})
	}
}

func TestParseSubjectInvertsSubject(t *testing.T) {
	for _, id := range []string{testInvoiceID, "a", "INV-1"} {
		for _, typ := range events.Types {
			t.Run(id+"/"+string(typ), func(t *testing.T) {
				s := events.Subject(id, typ)
				gotID, gotTyp, err := events.ParseSubject(s)
				if err != nil {
					t.Fatalf("ParseSubject(%q): %v", s, err)
				}
				if gotID != id || gotTyp != typ {
					t.Errorf("ParseSubject(Subject(%q, %s)) = %q, %q", id, typ, gotID, gotTyp)
				}
			})
		}
	}
}
