package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// EventType names a kind of webhook event.
type EventType string

// The invoice event types; operational ones are in operational.go.
const (
	// EventInvoiceCreated: an invoice was stored.
	EventInvoiceCreated EventType = "invoice.created"
	// EventInvoiceProcessed: an invoice was processed.
	EventInvoiceProcessed EventType = "invoice.processed"
	// EventInvoiceFailed: an invoice failed.
	EventInvoiceFailed EventType = "invoice.failed"
)

// Event is the body of every webhook: what happened, when, and the invoice
// exactly as GetInvoice showed it then. Deliveries arrive in no set order
// unless the subscription is ordered OrderingPerInvoice; order them by
// Timestamp or by the invoice's status, never by arrival.
type Event struct {
	// Type is the kind of event.
	Type EventType `json:"type"`
	// Timestamp is when the event happened.
	Timestamp time.Time `json:"timestamp"`
	// Data is the invoice the event is about; for an operational event,
	// decode the body with OperationalData instead.
	Data Invoice `json:"data"`
	// Test is true on a made-up event that SendTestEvent sent, and never on
	// a real one: a receiver can drop test events by it alone.
	Test bool `json:"test,omitempty"`
}

// SubscriptionStatus says whether a subscription receives webhooks.
type SubscriptionStatus string

// The subscription statuses.
const (
	SubscriptionEnabled  SubscriptionStatus = "enabled"
	SubscriptionDisabled SubscriptionStatus = "disabled"
)

// Ordering is how a subscription's deliveries are ordered.
type Ordering string

// The orderings.
const (
	// OrderingNone, the default: deliveries run in parallel and arrive in
	// no guaranteed order; a retry of an earlier event may arrive after a
	// later event.
	OrderingNone Ordering = "none"
	// OrderingPerInvoice: an invoice's events arrive in the order they
	// happened: its invoice.processed or invoice.failed waits, pending,
	// until its invoice.created is delivered or dead. A retry asked for
	// by hand is sent at once.
	OrderingPerInvoice Ordering = "per_invoice"
)

// Subscription is a webhook subscription: where the events of its account
// go, and which.
type Subscription struct {
	// ID names the subscription.
	ID string `json:"id"`
	// Account owns the subscription; it hears of that account's invoices
	// alone.
	Account string `json:"account"`
	// URL is where deliveries are POSTed.
	URL string `json:"url"`
	// EventTypes are the events it receives.
	EventTypes []EventType `json:"event_types"`
	// Description is free text.
	Description string `json:"description"`
	// Status is SubscriptionEnabled or SubscriptionDisabled.
	Status SubscriptionStatus `json:"status"`
	// DisabledReason says why a disabled subscription is: "disabled by
	// request", or the dispatcher's reason (a 410 Gone, or no successful
	// delivery for too long).
	DisabledReason string `json:"disabled_reason,omitempty"`
	// CreatedAt is when it was created.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when it last changed.
	UpdatedAt time.Time `json:"updated_at"`
	// Signing is how its webhooks are signed: SigningHMAC or
	// SigningEd25519.
	Signing Signing `json:"signing"`
	// Ordering is how its deliveries are ordered: OrderingNone or
	// OrderingPerInvoice.
	Ordering Ordering `json:"ordering"`
	// Secret is the Standard Webhooks signing secret ("whsec_…") of an
	// SigningHMAC subscription, set only in what CreateSubscription and
	// RotateSubscriptionSecret return: the only times the service shows it.
	Secret string `json:"secret,omitempty"`
	// PublicKeys are, for a SigningEd25519 subscription, the public keys
	// that sign its webhooks now, newest first: what a receiver verifies
	// with (webhook.NewVerifier takes their Key).
	PublicKeys []PublicKey `json:"public_keys,omitempty"`
	// Health is what the service knows of the endpoint.
	Health Health `json:"health"`
}

// Health is a subscription's failure streak and, when it was read alone
// with GetSubscription, how its newest deliveries went.
type Health struct {
	// Failing is true while the latest attempt at any of its deliveries
	// got no 2xx answer.
	Failing bool `json:"failing"`
	// FailingSince is when the running streak's first failed attempt was
	// recorded; zero when not Failing.
	FailingSince time.Time `json:"failing_since,omitzero"`
	// Recent is nil but from GetSubscription.
	Recent *RecentDeliveries `json:"recent,omitempty"`
}

// RecentDeliveries is how a subscription's newest (up to 100) deliveries
// that are no longer pending went.
type RecentDeliveries struct {
	// Deliveries is how many are counted; Delivered how many got a 2xx.
	Deliveries int `json:"deliveries"`
	Delivered  int `json:"delivered"`
	// SuccessRate is Delivered / Deliveries; nil while there are none.
	SuccessRate *float64 `json:"success_rate,omitempty"`
}

// SubscriptionParams is what CreateSubscription sends.
type SubscriptionParams struct {
	// URL is required: an absolute http or https URL of at most 2048
	// bytes, without a user name or password.
	URL string `json:"url"`
	// EventTypes are the events to receive, without repeats; nil means
	// every event type.
	EventTypes []EventType `json:"event_types,omitempty"`
	// Description is optional free text of at most 500 characters.
	Description string `json:"description,omitempty"`
	// Account places the subscription in that account: an operator key's
	// choice; empty means the caller's.
	Account string `json:"account,omitempty"`
	// Secret, unless empty, is the signing secret to use rather than a
	// new one, as when moving from another service: "whsec_" and the
	// base64 of 24 to 64 random bytes. Not with SigningEd25519.
	Secret string `json:"secret,omitempty"`
	// Signing, unless empty (SigningHMAC), is SigningEd25519: webhooks are
	// then signed with an ed25519 key the service makes and keeps, and
	// verified with its public key.
	Signing Signing `json:"signing,omitempty"`
	// Ordering, unless empty (OrderingNone), is OrderingPerInvoice: each
	// invoice's events are then delivered in the order they happened.
	Ordering Ordering `json:"ordering,omitempty"`
}

// SubscriptionUpdateParams is what UpdateSubscription sends: each field
// that is set replaces the stored one, and the others stay as they are.
type SubscriptionUpdateParams struct {
	// URL, when set, moves the deliveries to a new URL.
	URL *string `json:"url,omitempty"`
	// EventTypes, when not nil, replaces the events received; an empty,
	// non-nil list is sent as it is, and the service refuses it.
	EventTypes []EventType `json:"event_types,omitzero"`
	// Description, when set, replaces the description.
	Description *string `json:"description,omitempty"`
	// Status, when set, enables the subscription (clearing its failure
	// streak) or disables it (ending the deliveries waiting for a retry).
	Status *SubscriptionStatus `json:"status,omitempty"`
	// Account, when set, moves the subscription to that account: for an
	// operator key alone.
	Account *string `json:"account,omitempty"`
	// Ordering, when set, changes how the deliveries not yet attempted are
	// ordered: OrderingNone or OrderingPerInvoice.
	Ordering *Ordering `json:"ordering,omitempty"`
}

// SubscriptionListParams narrows and pages a list of subscriptions, which
// the service gives newest first.
type SubscriptionListParams struct {
	// Account lists that account's subscriptions: an operator key's
	// choice; any other key may name only its own.
	Account string
	// Limit is the page size, 1 to 100; 0 means the service's default, 20.
	Limit int
	// Cursor starts the list after an earlier page: that page's
	// NextCursor.
	Cursor string
}

func (p SubscriptionListParams) query() url.Values {
	q := url.Values{}
	setIf(q, "account", p.Account)
	listQuery{limit: p.Limit, cursor: p.Cursor}.set(q)
	return q
}

// CreateSubscription subscribes a URL to webhooks and returns the
// subscription, enabled, with its signing secret: keep Secret, as the
// service shows it only here and on rotation. It fails with an *Error
// matching ErrInvalidRequest, naming the field, for a URL or event type
// the service refuses. It is not retried once the request may have reached
// the service, since a repeat would make a second subscription.
func (c *Client) CreateSubscription(ctx context.Context, params SubscriptionParams, opts ...CallOption) (*Subscription, error) {
	var sub Subscription
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/webhooks/subscriptions", body: params}, newCallConfig(opts), &sub); err != nil {
		return nil, err
	}
	return &sub, nil
}

// GetSubscription returns the subscription with the given ID, without its
// secret. It fails with an *Error matching ErrNotFound when there is none
// in the caller's account.
func (c *Client) GetSubscription(ctx context.Context, id string, opts ...CallOption) (*Subscription, error) {
	return c.subscriptionCall(ctx, http.MethodGet, id, "", nil, true, opts)
}

// ListSubscriptions returns an iterator over the subscriptions params
// selects, newest first, without their secrets, fetching one page at a
// time as it goes. An error is yielded once and ends it.
func (c *Client) ListSubscriptions(ctx context.Context, params SubscriptionListParams, opts ...CallOption) iter.Seq2[Subscription, error] {
	return listAll[Subscription](ctx, c, "/webhooks/subscriptions", params.query(), opts)
}

// UpdateSubscription changes the fields params sets and returns the
// subscription as changed. It fails with an *Error matching
// ErrInvalidRequest for a value the service refuses, or ErrNotFound.
func (c *Client) UpdateSubscription(ctx context.Context, id string, params SubscriptionUpdateParams, opts ...CallOption) (*Subscription, error) {
	return c.subscriptionCall(ctx, http.MethodPatch, id, "", params, true, opts)
}

// DeleteSubscription deletes the subscription and every secret it had; its
// deliveries waiting for a retry end as dead. It fails with an *Error
// matching ErrNotFound when there is no such subscription, which a retry
// after an answer lost on the way also gets.
func (c *Client) DeleteSubscription(ctx context.Context, id string, opts ...CallOption) error {
	path, err := pathOf("webhooks", "subscriptions", id)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, request{method: http.MethodDelete, path: path, safe: true}, newCallConfig(opts), nil)
	return err
}

// RotateSubscriptionSecret gives the subscription a new signing secret and
// returns the subscription with it in Secret. The old secret keeps signing
// beside the new one for the service's overlap (24 hours by default), so
// receivers can switch. It fails with an *Error matching ErrNotFound when
// there is no such subscription; it is not retried once the request may
// have reached the service, since a repeat would rotate again.
func (c *Client) RotateSubscriptionSecret(ctx context.Context, id string, opts ...CallOption) (*Subscription, error) {
	return c.subscriptionCall(ctx, http.MethodPost, id, "rotate-secret", nil, false, opts)
}

// subscriptionCall makes a call about one subscription that answers with
// it: method at /webhooks/subscriptions/{id}[/action].
func (c *Client) subscriptionCall(ctx context.Context, method, id, action string, body any, safe bool, opts []CallOption) (*Subscription, error) {
	segments := []string{"webhooks", "subscriptions", id}
	if action != "" {
		segments = append(segments, action)
	}
	path, err := pathOf(segments...)
	if err != nil {
		return nil, err
	}
	var sub Subscription
	if _, err := c.do(ctx, request{method: method, path: path, body: body, safe: safe}, newCallConfig(opts), &sub); err != nil {
		return nil, err
	}
	return &sub, nil
}
