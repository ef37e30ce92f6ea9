package events_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/invoiced/invoiced/events"
)

const testInvoiceID = "3f1c9a52-8d6e-5b7a-9e41-0c2d7f8b6a13"

func TestSubject(t *testing.T) {
	tests := []struct {
		name    string
		account string
		id      string
		typ     events.Type
		want    string
	}{
		{"requested", "acme", testInvoiceID, events.InvoiceRequested, "invoices." + testInvoiceID + ".requested.acme"},
		{"processed", "default", testInvoiceID, events.InvoiceProcessed, "invoices." + testInvoiceID + ".processed.default"},
		{"failed", "key_0123abcd", testInvoiceID, events.InvoiceFailed, "invoices." + testInvoiceID + ".failed.key_0123abcd"},
		{"short id", "a", "x", events.InvoiceFailed, "invoices.x.failed.a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := events.Subject(tt.account, tt.id, tt.typ); got != tt.want {
				t.Errorf("Subject(%q, %q, %s) = %q, want %q", tt.account, tt.id, tt.typ, got, tt.want)
			}
		})
	}
}

func TestEventSubjectNamesItsAccount(t *testing.T) {
	named := withAccount(requestedEvent(), "acme")
	tests := map[string]struct {
		event events.Event
		want  string
	}{
		"named":                  {named, events.Subject("acme", named.Invoice.ID, events.InvoiceRequested)},
		"stored before accounts": {requestedEvent(), events.Subject("caller-1", named.Invoice.ID, events.InvoiceRequested)},
		"an outcome":             {events.NewProcessed(named.Invoice, createdAt), events.Subject("acme", named.Invoice.ID, events.InvoiceProcessed)},
		"no account anywhere":    {processedEvent(), events.Subject(events.DefaultAccount, named.Invoice.ID, events.InvoiceProcessed)},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tt.event.Subject(); got != tt.want {
				t.Errorf("Subject() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSubjectUnknownTypeDoesNotParse(t *testing.T) {
	// Whatever Subject makes of a type outside Types, ParseSubject must not
	// read it back as one of the defined types.
	for _, typ := range []events.Type{"", "InvoiceCreated", "invoicerequested"} {
		t.Run(string(typ), func(t *testing.T) {
			s := events.Subject("acme", testInvoiceID, typ)
			at, err := events.ParseSubject(s)
			if !errors.Is(err, events.ErrBadSubject) {
				t.Fatalf("ParseSubject(%q) = %+v, %v; want ErrBadSubject", s, at, err)
			}
		})
	}
}

func TestWildcards(t *testing.T) {
	pre := "invoices." + testInvoiceID
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{"InvoiceSubjects", []string{events.InvoiceSubjects(testInvoiceID)}, []string{pre + ".>"}},
		{"EventSubjects", events.EventSubjects(testInvoiceID, events.InvoiceFailed), []string{pre + ".failed.*", pre + ".failed"}},
		{"KindSubjects requested", events.KindSubjects(events.InvoiceRequested), []string{"invoices.*.requested.*", "invoices.*.requested"}},
		{"KindSubjects processed", events.KindSubjects(events.InvoiceProcessed), []string{"invoices.*.processed.*", "invoices.*.processed"}},
		{"AccountSubjects", []string{events.AccountSubjects("acme")}, []string{"invoices.*.*.acme"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !slices.Equal(tt.got, tt.want) {
				t.Errorf("got %q, want %q", tt.got, tt.want)
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
	pre := "invoices." + testInvoiceID
	tests := []struct {
		name    string
		subject string
		want    events.Address
		wantErr bool
	}{
		{name: "requested", subject: pre + ".requested.acme", want: events.Address{ID: testInvoiceID, Type: events.InvoiceRequested, Account: "acme"}},
		{name: "processed", subject: pre + ".processed.default", want: events.Address{ID: testInvoiceID, Type: events.InvoiceProcessed, Account: "default"}},
		{name: "failed", subject: pre + ".failed.key_0123abcd", want: events.Address{ID: testInvoiceID, Type: events.InvoiceFailed, Account: "key_0123abcd"}},
		{name: "before accounts, requested", subject: pre + ".requested", want: events.Address{ID: testInvoiceID, Type: events.InvoiceRequested}},
		{name: "before accounts, processed", subject: pre + ".processed", want: events.Address{ID: testInvoiceID, Type: events.InvoiceProcessed}},
		{name: "before accounts, failed", subject: pre + ".failed", want: events.Address{ID: testInvoiceID, Type: events.InvoiceFailed}},
		{name: "short id", subject: "invoices.a.failed.b", want: events.Address{ID: "a", Type: events.InvoiceFailed, Account: "b"}},

		{name: "empty", subject: "", wantErr: true},
		{name: "prefix only", subject: "invoices", wantErr: true},
		{name: "prefix and dot", subject: "invoices.", wantErr: true},
		{name: "wrong prefix", subject: "orders." + testInvoiceID + ".requested.acme", wantErr: true},
		{name: "singular prefix", subject: "invoice." + testInvoiceID + ".requested", wantErr: true},
		{name: "upper case prefix", subject: "INVOICES." + testInvoiceID + ".requested", wantErr: true},
		{name: "prefix glued to more", subject: "invoicesx." + testInvoiceID + ".requested", wantErr: true},
		{name: "leading dot", subject: ".invoices." + testInvoiceID + ".requested", wantErr: true},
		{name: "missing id", subject: "invoices..requested.acme", wantErr: true},
		{name: "missing id and dot", subject: "invoices.requested", wantErr: true},
		{name: "missing kind", subject: pre, wantErr: true},
		{name: "empty kind", subject: pre + ".", wantErr: true},
		{name: "empty kind with account", subject: pre + "..acme", wantErr: true},
		{name: "empty account", subject: pre + ".requested.", wantErr: true},
		{name: "account in capitals", subject: pre + ".requested.Acme", wantErr: true},
		{name: "wildcard account", subject: pre + ".requested.*", wantErr: true},
		{name: "tail wildcard account", subject: pre + ".requested.>", wantErr: true},
		{name: "token after account", subject: pre + ".requested.acme.x", wantErr: true},
		{name: "account before kind", subject: pre + ".acme.requested", wantErr: true},
		{name: "unknown kind", subject: pre + ".created.acme", wantErr: true},
		{name: "kind in wrong case", subject: pre + ".Requested", wantErr: true},
		{name: "type name as kind", subject: pre + ".InvoiceRequested.acme", wantErr: true},
		{name: "wildcard kind", subject: pre + ".*", wantErr: true},
		{name: "wildcard id", subject: "invoices.*.requested.acme", wantErr: true},
		{name: "all subjects filter", subject: events.AllSubjects, wantErr: true},
		{name: "invoice filter", subject: events.InvoiceSubjects(testInvoiceID), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := events.ParseSubject(tt.subject)
			if tt.wantErr {
				if !errors.Is(err, events.ErrBadSubject) {
					t.Fatalf("ParseSubject(%q) error = %v, want ErrBadSubject", tt.subject, err)
				}
				if got != (events.Address{}) {
					t.Errorf("ParseSubject(%q) = %+v with an error, want nothing", tt.subject, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSubject(%q): %v", tt.subject, err)
			}
			if got != tt.want {
				t.Errorf("ParseSubject(%q) = %+v; want %+v", tt.subject, got, tt.want)
			}
		})
	}
}

func TestParseSubjectInvertsSubject(t *testing.T) {
	for _, id := range []string{testInvoiceID, "a", "INV-1"} {
		for _, typ := range events.Types {
			t.Run(id+"/"+string(typ), func(t *testing.T) {
				s := events.Subject("acme", id, typ)
				got, err := events.ParseSubject(s)
				if err != nil {
					t.Fatalf("ParseSubject(%q): %v", s, err)
				}
				if want := (events.Address{ID: id, Type: typ, Account: "acme"}); got != want {
					t.Errorf("ParseSubject(Subject(acme, %q, %s)) = %+v", id, typ, got)
				}
			})
		}
	}
}
