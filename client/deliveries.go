package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

// The delivery statuses.
const (
	// DeliveryPending: not attempted yet.
	DeliveryPending DeliveryStatus = "pending"
	// DeliveryDelivered: a 2xx answer arrived.
	DeliveryDelivered DeliveryStatus = "delivered"
	// DeliveryFailing: attempts failed and another is scheduled.
	DeliveryFailing DeliveryStatus = "failing"
	// DeliveryDead: no more attempts will be made unless asked for.
	DeliveryDead DeliveryStatus = "dead"
)

// AttemptTrigger says what started an attempt.
type AttemptTrigger string

// The attempt triggers.
const (
	// TriggerScheduled: the first attempt, or a retry on the schedule.
	TriggerScheduled AttemptTrigger = "scheduled"
	// TriggerManual: an attempt asked for with RetryDelivery or
	// RecoverSubscription.
	TriggerManual AttemptTrigger = "manual"
)

// Delivery is one event on its way to one subscription, with every attempt.
type Delivery struct {
	// ID names the delivery; webhooks carry it as X-Delivery-ID.
	ID string `json:"id"`
	// Account owns the delivery: its subscription's.
	Account string `json:"account"`
	// SubscriptionID names the subscription it goes to.
	SubscriptionID string `json:"subscription_id"`
	// EventID names the event; webhooks carry it as webhook-id.
	EventID string `json:"event_id"`
	// EventType is the event's type.
	EventType EventType `json:"event_type"`
	// InvoiceID names the invoice the event is about.
	InvoiceID string `json:"invoice_id"`
	// Status is where the delivery stands.
	Status DeliveryStatus `json:"status"`
	// Reason says why a dead delivery is, or what a pending one held back
	// by per_invoice ordering waits for.
	Reason string `json:"reason,omitempty"`
	// Attempts lists every attempt, first to last.
	Attempts []Attempt `json:"attempts"`
	// NextAttemptAt is when the next scheduled attempt is due; zero when
	// none is.
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
	// CreatedAt is when the delivery was made.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when it last changed.
	UpdatedAt time.Time `json:"updated_at"`
	// Payload is the webhook body every attempt sends; set by GetDelivery
	// and RetryDelivery, nil in lists.
	Payload *Event `json:"payload,omitempty"`
}

// Attempt is one try at a delivery.
type Attempt struct {
	// Number counts the delivery's attempts from 1.
	Number int `json:"number"`
	// Trigger says what started it.
	Trigger AttemptTrigger `json:"trigger"`
	// StartedAt is when it started.
	StartedAt time.Time `json:"started_at"`
	// DurationMS is how long it took, in milliseconds.
	DurationMS int64 `json:"duration_ms"`
	// URL is where it was sent.
	URL string `json:"url"`
	// HTTPStatus is the receiver's status; 0 when no answer arrived.
	HTTPStatus int `json:"http_status"`
	// Error says, in a short plain text, why it failed.
	Error string `json:"error,omitempty"`
	// ResponseBody is the first 4 KiB of the receiver's answer.
	ResponseBody string `json:"response_body,omitempty"`
	// NextAttemptAt is when the retry it scheduled is due; zero when it
	// scheduled none.
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
}

// DeliveryListParams narrows and pages a list of deliveries. The zero
// value lists every delivery of the caller's account.
type DeliveryListParams struct {
	// Account lists that account's deliveries: an operator key's choice;
	// any other key may name only its own.
	Account string
	// Status lists deliveries in that status alone.
	Status DeliveryStatus
	// SubscriptionID lists one subscription's deliveries alone.
	SubscriptionID string
	// EventType lists deliveries of that event type alone.
	EventType EventType
	// InvoiceID lists the deliveries of the events about one invoice.
	InvoiceID string
	// EventID lists the deliveries of one event: its webhook-id.
	EventID string
	// CreatedAfter and CreatedBefore, unless zero, list the deliveries
	// created strictly between them.
	CreatedAfter, CreatedBefore time.Time
	// Limit is the page size, 1 to 100; 0 means the service's default, 20.
	Limit int
	// Cursor starts the list after an earlier page: that page's
	// NextCursor.
	Cursor string
}

func (p DeliveryListParams) query() url.Values {
	q := url.Values{}
	setIf(q, "account", p.Account)
	setIf(q, "status", string(p.Status))
	setIf(q, "subscription_id", p.SubscriptionID)
	setIf(q, "event_type", string(p.EventType))
	setIf(q, "invoice_id", p.InvoiceID)
	setIf(q, "event_id", p.EventID)
	setTimeIf(q, "created_after", p.CreatedAfter)
	setTimeIf(q, "created_before", p.CreatedBefore)
	listQuery{limit: p.Limit, cursor: p.Cursor}.set(q)
	return q
}

// ListDeliveries returns an iterator over the deliveries params selects,
// newest first and without payloads, fetching one page at a time as it
// goes. A delivery is listed from its first attempt. An error, such as an
// *Error matching ErrInvalidRequest for a bad parameter, is yielded once and
// ends it.
func (c *Client) ListDeliveries(ctx context.Context, params DeliveryListParams, opts ...CallOption) iter.Seq2[Delivery, error] {
	return listAll[Delivery](ctx, c, "/webhooks/deliveries", params.query(), opts)
}

// ListDeliveriesPage returns the one page of deliveries params selects, for
// a caller that keeps the cursor itself. It fails with an *Error matching
// ErrInvalidRequest for a bad parameter.
func (c *Client) ListDeliveriesPage(ctx context.Context, params DeliveryListParams, opts ...CallOption) (*Page[Delivery], error) {
	return getPage[Delivery](ctx, c, "/webhooks/deliveries", params.query(), opts)
}

// GetDelivery returns the delivery with the given ID, every attempt and
// its payload. It fails with an *Error matching ErrNotFound when there is
// none in the caller's account.
func (c *Client) GetDelivery(ctx context.Context, id string, opts ...CallOption) (*Delivery, error) {
	return c.deliveryCall(ctx, http.MethodGet, id, "", opts)
}

// RetryDelivery asks for one more attempt at the delivery now, whatever its
// status, and returns the delivery as it was before that attempt; asking
// again before the attempt is made asks for no second one. It fails with an
// *Error matching ErrConflict once the delivery has 100 attempts or while
// its subscription is disabled or deleted, or ErrNotFound.
func (c *Client) RetryDelivery(ctx context.Context, id string, opts ...CallOption) (*Delivery, error) {
	return c.deliveryCall(ctx, http.MethodPost, id, "retry", opts)
}

func (c *Client) deliveryCall(ctx context.Context, method, id, action string, opts []CallOption) (*Delivery, error) {
	segments := []string{"webhooks", "deliveries", id}
	if action != "" {
		segments = append(segments, action)
	}
	path, err := pathOf(segments...)
	if err != nil {
		return nil, err
	}
	var d Delivery
	if _, err := c.do(ctx, request{method: method, path: path, safe: true}, newCallConfig(opts), &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// RecoverParams says which deliveries RecoverSubscription sends again.
type RecoverParams struct {
	// Since is required and not in the future: the subscription's failing
	// and dead deliveries created at or after it are sent again.
	Since time.Time `json:"since"`
}

// RecoverResult is what RecoverSubscription did.
type RecoverResult struct {
	// Recovered is how many failing or dead deliveries were asked for one
	// more attempt.
	Recovered int `json:"recovered"`
}

// RecoverSubscription asks for one more attempt, now, at each failing and
// dead delivery of the subscription created since params.Since, as after
// an outage of its receiver; asking again before those attempts are made
// asks for no second ones. It fails with an *Error matching ErrConflict
// while the subscription is disabled, ErrInvalidRequest for a Since in the
// future, or ErrNotFound.
func (c *Client) RecoverSubscription(ctx context.Context, id string, params RecoverParams, opts ...CallOption) (*RecoverResult, error) {
	path, err := pathOf("webhooks", "subscriptions", id, "recover")
	if err != nil {
		return nil, err
	}
	var res RecoverResult
	if _, err := c.do(ctx, request{method: http.MethodPost, path: path, body: params, safe: true}, newCallConfig(opts), &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// TestEventParams says what SendTestEvent sends.
type TestEventParams struct {
	// EventType is the event to send, whether or not the subscription
	// asks for it; empty means the subscription's first.
	EventType EventType `json:"event_type,omitempty"`
}

// TestEvent is what SendTestEvent started.
type TestEvent struct {
	// DeliveryID names the new delivery: follow it with GetDelivery.
	DeliveryID string `json:"delivery_id"`
	// EventID is the made-up event's ID, the webhook's webhook-id.
	EventID string `json:"event_id"`
	// EventType is the event sent.
	EventType EventType `json:"event_type"`
	// InvoiceID names the made-up invoice, which does not exist.
	InvoiceID string `json:"invoice_id"`
}

// SendTestEvent sends a made-up event about a made-up invoice (customer
// "cust_test", metadata {"test":"true"}) to this subscription alone, as a
// new delivery signed, retried and logged like any other. It fails with an
// *Error matching ErrConflict while the subscription is disabled, or
// ErrNotFound; it is not retried once the request may have reached the
// service, since a repeat would send a second event.
func (c *Client) SendTestEvent(ctx context.Context, id string, params TestEventParams, opts ...CallOption) (*TestEvent, error) {
	path, err := pathOf("webhooks", "subscriptions", id, "test")
	if err != nil {
		return nil, err
	}
	var res TestEvent
	if _, err := c.do(ctx, request{method: http.MethodPost, path: path, body: params}, newCallConfig(opts), &res); err != nil {
		return nil, err
	}
	return &res, nil
}
