package webhook

import "github.com/invoiced/invoiced/events"

// Awaits returns, for a subscription ordered per invoice, the delivery that
// t's must wait for: the invoice.created of t's invoice to the same
// subscription. It returns false when t's event is no invoice's outcome,
// which waits for nothing.
func (t Task) Awaits() (string, bool) {
	if (t.EventType != EventInvoiceProcessed && t.EventType != EventInvoiceFailed) || t.InvoiceID == "" {
		return "", false
	}
	return DeliveryID(events.EventID(t.InvoiceID, events.InvoiceRequested), t.SubscriptionID), true
}

// AwaitedBy returns the delivery that waits for t's at a subscription
// ordered per invoice: the outcome of t's invoice to the same subscription
// (invoice.processed and invoice.failed share their event's ID). It
// returns false when t's event is not an invoice.created.
func (t Task) AwaitedBy() (string, bool) {
	if t.EventType != EventInvoiceCreated || t.InvoiceID == "" {
		return "", false
	}
	return DeliveryID(events.EventID(t.InvoiceID, events.InvoiceProcessed), t.SubscriptionID), true
}
