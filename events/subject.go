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

// Subject returns the subject an event of type t about the invoice id is
// published to, such as "invoices.<id>.requested".
func Subject(id string, t Type) string {
	return SubjectPrefix + "." + id + "." + t.token()
}

// InvoiceSubjects returns the wildcard subject that matches every event of
// the invoice id: "invoices.<id>.*". The newest message under it is the
// invoice's current state.
func InvoiceSubjects(id string) string {
	return SubjectPrefix + "." + id + ".*"
}

// KindSubjects returns the wildcard subject that matches the events of type
// t of every invoice, such as "invoices.*.requested".
func KindSubjects(t Type) string {
	return SubjectPrefix + ".*." + t.token()
}

// ParseSubject splits an invoice event subject into the invoice ID and the
// event type. It fails with ErrBadSubject when the subject has another shape
// or names an unknown kind.
func ParseSubject(subject string) (id string, t Type, err error) {
	rest, ok := strings.CutPrefix(subject, SubjectPrefix+".")
	if !ok {
		return "", "", fmt.Errorf("%w: %q", ErrBadSubject, subject)
	}
	id, kind, ok := strings.Cut(rest, ".")
	if !ok || id == "" || strings.ContainsAny(id, "*> \t") || strings.Contains(kind, ".") {
		return "", "", fmt.Errorf("%w: %q", ErrBadSubject, subject)
	}
	t, ok = typeForToken(kind)
	if !ok {
		return "", "", fmt.Errorf("%w: unknown kind %q", ErrBadSubject, kind)
	}
	return id, t, nil
}
