// Package events is the wire contract of invoiced: the events that describe
// an invoice's life, the JetStream subjects they are stored under and their
// JSON encoding.
//
// Every fact about an invoice is one message on the INVOICES stream, under
// the subject invoices.<invoice id>.<kind>.<account>:
//
//	invoices.<id>.requested.<account>   InvoiceRequested: the API accepted the invoice
//	invoices.<id>.processed.<account>   InvoiceProcessed: the processor finished it
//	invoices.<id>.failed.<account>      InvoiceFailed:    the processor refused it
//
// Events stored before accounts existed have no account token
// (invoices.<id>.<kind>); their body names the account (see
// [Event.Account]). Both forms are read alike.
//
// Each event is one JSON object (see [Event]) carrying a schema version, a
// unique event ID that is also the message's Nats-Msg-Id, and the invoice's
// whole state after the event, so the newest message under
// invoices.<id>.> is the invoice's current state and the stream alone is
// enough to rebuild any read model.
//
// The package imports nothing of invoiced's own, so any program, including
// one written by an operator, can read the stream with it.
package events
