// Package events is the wire contract of invoiced: the events that describe
// an invoice's life, the JetStream subjects they are stored under and their
// JSON encoding.
//
// Every fact about an invoice is one message on the INVOICES stream, under
// the subject invoices.<invoice id>.<kind>:
//
//	invoices.<id>.requested   InvoiceRequested: the API accepted the invoice
//	invoices.<id>.processed   InvoiceProcessed: the processor finished it
//	invoices.<id>.failed      InvoiceFailed:    the processor refused it
//
// Each event is one JSON object (see [Event]) carrying a schema version, a
// unique event ID that is also the message's Nats-Msg-Id, and the invoice's
// whole state after the event, so the newest message under
// invoices.<id>.* is the invoice's current state and the stream alone is
// enough to rebuild any read model.
//
// The package imports nothing of invoiced's own, so any program, including
// one written by an operator, can read the stream with it.
package events
