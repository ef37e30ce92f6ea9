package client

import (
	"context"
	"iter"
	"net/url"
	"strconv"
	"time"
)

// EventRecord is one invoice event as the service keeps it: the body its
// webhooks carry, its ID, and what each delivery of it did. A poller can
// handle Event and ID as a webhook receiver handles a delivery.
type EventRecord struct {
	// Event is the webhook's body: the type, when the event happened, and
	// the invoice as the event left it.
	Event
	// ID names the event; its webhooks carry it as webhook-id.
	ID string `json:"id"`
	// InvoiceID names the invoice the event is about.
	InvoiceID string `json:"invoice_id"`
	// Deliveries lists what each delivery of the event did, oldest first;
	// a delivery is listed from its first attempt.
	Deliveries []EventDelivery `json:"deliveries"`
}

// EventDelivery is what one delivery of an event did; GetDelivery has
// every attempt.
type EventDelivery struct {
	ID             string         `json:"id"`
	SubscriptionID string         `json:"subscription_id"`
	Status         DeliveryStatus `json:"status"`
	Attempts       int            `json:"attempts"`
}

// EventListParams narrows and pages a list of events. The zero value lists
// every event of the caller's account.
type EventListParams struct {
	// Account lists that account's events: an operator key's choice; any
	// other key may name only its own.
	Account string
	// Type lists the events of that type alone.
	Type EventType
	// Since, unless zero, lists the events that happened at or after it.
	Since time.Time
	// InvoiceID lists one invoice's events; ListInvoiceEvents does too.
	InvoiceID string
	// DeliverySuccess, unless nil, lists the events every delivery of
	// which was delivered (true), or those with a delivery that was not,
	// yet or ever (false).
	DeliverySuccess *bool
	// Limit is the page size, 1 to 100; 0 means the service's default, 20.
	Limit int
	// Cursor starts the list after an earlier page: that page's
	// NextCursor.
	Cursor string
}

func (p EventListParams) query() url.Values {
	q := url.Values{}
	setIf(q, "account", p.Account)
	setIf(q, "type", string(p.Type))
	setTimeIf(q, "since", p.Since)
	setIf(q, "invoice_id", p.InvoiceID)
	if p.DeliverySuccess != nil {
		q.Set("delivery_success", strconv.FormatBool(*p.DeliverySuccess))
	}
	listQuery{limit: p.Limit, cursor: p.Cursor}.set(q)
	return q
}

// ListEvents returns an iterator over the events params selects, newest
// first in the order they were stored, fetching one page at a time as it
// goes. To catch up after missed webhooks, list with Since a little before
// the newest event handled and skip the IDs already handled. An error,
// such as an *Error matching ErrInvalidRequest for a bad parameter, is
// yielded once and ends it.
func (c *Client) ListEvents(ctx context.Context, params EventListParams, opts ...CallOption) iter.Seq2[EventRecord, error] {
	return listAll[EventRecord](ctx, c, "/events", params.query(), opts)
}

// ListEventsPage returns the one page of events params selects, for a
// caller that keeps the cursor itself. It fails with an *Error matching
// ErrInvalidRequest for a bad parameter.
func (c *Client) ListEventsPage(ctx context.Context, params EventListParams, opts ...CallOption) (*Page[EventRecord], error) {
	return getPage[EventRecord](ctx, c, "/events", params.query(), opts)
}

// ListInvoiceEvents returns an iterator over the events of invoice id,
// newest first: its request, and its outcome once there is one. Of params
// it takes Type, Since, DeliverySuccess, Limit and Cursor. An *Error
// matching ErrNotFound, when there is no such invoice in the caller's
// account, is yielded once and ends it.
func (c *Client) ListInvoiceEvents(ctx context.Context, id string, params EventListParams, opts ...CallOption) iter.Seq2[EventRecord, error] {
	path, err := pathOf("invoices", id, "events")
	if err != nil {
		return func(yield func(EventRecord, error) bool) { yield(EventRecord{}, err) }
	}
	params.Account, params.InvoiceID = "", ""
	return listAll[EventRecord](ctx, c, path, params.query(), opts)
}
