package events

import (
	"errors"
	"fmt"
	"strings"
)

// StreamInvoices is the name of the JetStream stream that holds every
// invoice event.
const StreamInvoices = "INVOICES"

// SubjectPrefix is the first token of every invoice event's subject.
const SubjectPrefix = "invoices"

// AllSubjects is the subject filter that matches every invoice event.
const AllSubjects = SubjectPrefix + ".>"

// ErrBadSubject is returned, wrapped, by ParseSubject for a subject that is
// not an invoice event subject.
var ErrBadSubject = errors.New("not an invoice event subject")

// Subject returns the subject an event of type t about the invoice id,
// owned by account, is published to: "invoices.<id>.<kind>.<account>".
//
// The account comes last so that "invoices.<id>.>" matches every event of
// an invoice, including those stored before accounts existed under
// "invoices.<id>.<kind>": one condition on that filter keeps an invoice
// unique across both forms.
func Subject(account, id string, t Type) string {
	return SubjectPrefix + "." + id + "." + t.token() + "." + account
}

// InvoiceSubjects returns the wildcard subject that matches every event of
// the invoice id, in either form: "invoices.<id>.>". The newest message
// under it is the invoice's current state.
func InvoiceSubjects(id string) string {
	return SubjectPrefix + "." + id + ".>"
}

// EventSubjects returns the two wildcard subjects that together match the
// events of type t of the invoice id: "invoices.<id>.<kind>.*" and, for an
// event stored before accounts existed, "invoices.<id>.<kind>".
func EventSubjects(id string, t Type) []string {
	s := SubjectPrefix + "." + id + "." + t.token()
	return []string{s + ".*", s}
}

// KindSubjects returns the wildcard subjects that together match the events
// of type t of every invoice: "invoices.*.<kind>.*" and, for events stored
// before accounts existed, "invoices.*.<kind>".
func KindSubjects(t Type) []string {
	return EventSubjects("*", t)
}

// AccountSubjects returns the wildcard subject that matches every event of
// the invoices account owns: "invoices.*.*.<account>". Events stored
// before accounts existed carry their account in their body alone.
func AccountSubjects(account string) string {
	return SubjectPrefix + ".*.*." + account
}

// Address is what an invoice event's subject says of it.
type Address struct {
	// ID is the invoice's ID.
	ID string
	// Type is the event's type.
	Type Type
	// Account owns the invoice; empty for an event stored before accounts
	// existed, whose account only its body names (see Event.Account).
	Account string
}

// ParseSubject returns what an invoice event subject says of the event, in
// either form. It fails with ErrBadSubject when the subject has another
// shape, names an unknown kind or an invalid account.
func ParseSubject(subject string) (Address, error) {
	rest, ok := strings.CutPrefix(subject, SubjectPrefix+".")
	if !ok {
		return Address{}, fmt.Errorf("%w: %q", ErrBadSubject, subject)
	}
	id, kind, ok := strings.Cut(rest, ".")
	if !ok || id == "" || strings.ContainsAny(id, "*> \t") {
		return Address{}, fmt.Errorf("%w: %q", ErrBadSubject, subject)
	}
	kind, account, scoped := strings.Cut(kind, ".")
	if scoped && !ValidAccount(account) {
		return Address{}, fmt.Errorf("%w: %q names no valid account", ErrBadSubject, subject)
	}
	t, ok := typeForToken(kind)
	if !ok {
		return Address{}, fmt.Errorf("%w: unknown kind %q", ErrBadSubject, kind)
	}
	return Address{ID: id, Type: t, Account: account}, nil
}
