package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"
)

// InvoiceStatus is where an invoice is in its life: InvoiceCreated, then
// InvoiceProcessed or InvoiceFailed. It never goes back.
type InvoiceStatus string

// The invoice statuses.
const (
	InvoiceCreated   InvoiceStatus = "created"
	InvoiceProcessed InvoiceStatus = "processed"
	InvoiceFailed    InvoiceStatus = "failed"
)

// Invoice is an invoice's current state.
type Invoice struct {
	// ID is derived from the account and the Idempotency-Key that made it.
	ID string `json:"id"`
	// Account owns the invoice.
	Account string `json:"account,omitempty"`
	// Status is where the invoice is in its life.
	Status InvoiceStatus `json:"status"`
	// CustomerID names the customer billed.
	CustomerID string `json:"customer_id"`
	// AmountCents is the amount in the currency's minor unit.
	AmountCents int64 `json:"amount_cents"`
	// Currency is an ISO 4217 code such as "USD".
	Currency string `json:"currency"`
	// Description is free text; empty when none was given.
	Description string `json:"description"`
	// Metadata holds the caller's string pairs; empty, not nil, from the
	// service when none were given.
	Metadata map[string]string `json:"metadata"`
	// CreatedAt is when the invoice was accepted.
	CreatedAt time.Time `json:"created_at"`
	// ProcessedAt is when it was processed; zero unless it is.
	ProcessedAt time.Time `json:"processed_at,omitzero"`
	// FailedAt is when it failed; zero unless it did.
	FailedAt time.Time `json:"failed_at,omitzero"`
	// FailureReason says why it failed, such as "amount_exceeds_limit".
	FailureReason string `json:"failure_reason,omitempty"`
}

// InvoiceParams is what CreateInvoice sends. The service checks every rule
// at once and reports every field at fault in Error.Errors.
type InvoiceParams struct {
	// CustomerID is required: 1 to 255 characters, not blank, no control
	// characters.
	CustomerID string `json:"customer_id"`
	// AmountCents is required: from 1 to 10¹², in the currency's minor
	// unit.
	AmountCents int64 `json:"amount_cents"`
	// Currency is an ISO 4217 code; empty means "USD".
	Currency string `json:"currency,omitempty"`
	// Description is optional free text of at most 1000 characters.
	Description string `json:"description,omitempty"`
	// Metadata holds at most 20 string pairs: keys of 1 to 40 characters,
	// values of at most 500.
	Metadata map[string]string `json:"metadata,omitempty"`
}

// CreatedInvoice is what CreateInvoice returns: the invoice, and whether
// this call made it or an earlier one with the same key did.
type CreatedInvoice struct {
	Invoice
	// Replayed is true when an earlier request with the same
	// Idempotency-Key created the invoice, and this answer repeats that
	// request's; no second invoice was made.
	Replayed bool
	// IdempotencyKey is the key the call sent: the one given with
	// WithIdempotencyKey, or the random one made for it. Sending it again
	// with the same parameters returns the same invoice.
	IdempotencyKey string
}

// CreateInvoice creates an invoice, exactly once however often the call is
// retried: every attempt sends the same Idempotency-Key, a random UUID
// unless WithIdempotencyKey gives one. It returns the invoice as created
// (Status InvoiceCreated) or, with Replayed set, as an earlier call with
// the key created it. It fails with an *Error: ErrInvalidRequest naming the
// fields at fault, ErrIdempotencyKeyReused when the key was used for other
// parameters, or ErrUnavailable once retries are spent; retrying that with
// the same key is safe.
func (c *Client) CreateInvoice(ctx context.Context, params InvoiceParams, opts ...CallOption) (*CreatedInvoice, error) {
	cc := newCallConfig(opts)
	key := cc.idempotencyKey
	if key == "" {
		key = uuid.NewString()
	}
	out := &CreatedInvoice{IdempotencyKey: key}
	a, err := c.do(ctx, request{method: http.MethodPost, path: "/invoices", body: params, safe: true, idempotencyKey: key}, cc, &out.Invoice)
	if err != nil {
		return nil, err
	}
	out.Replayed = a.header.Get("Idempotent-Replayed") == "true"
	return out, nil
}

// GetInvoice returns the invoice with the given ID in its current state. It
// fails with an *Error matching ErrNotFound when there is no such invoice
// in the caller's account.
func (c *Client) GetInvoice(ctx context.Context, id string, opts ...CallOption) (*Invoice, error) {
	path, err := pathOf("invoices", id)
	if err != nil {
		return nil, err
	}
	var inv Invoice
	if _, err := c.do(ctx, request{method: http.MethodGet, path: path, safe: true}, newCallConfig(opts), &inv); err != nil {
		return nil, err
	}
	return &inv, nil
}

// InvoiceListParams narrows and pages a list of invoices. The zero value
// lists every invoice of the caller's account.
type InvoiceListParams struct {
	// Account lists that account's invoices: an operator key's choice; any
	// other key may name only its own.
	Account string
	// CustomerID lists that customer's invoices alone.
	CustomerID string
	// Status lists invoices in that status alone.
	Status InvoiceStatus
	// CreatedAfter and CreatedBefore, unless zero, list the invoices
	// created strictly between them.
	CreatedAfter, CreatedBefore time.Time
	// Limit is the page size, 1 to 100; 0 means the service's default, 20.
	Limit int
	// Cursor starts the list after an earlier page: that page's
	// NextCursor.
	Cursor string
}

func (p InvoiceListParams) query() url.Values {
	q := url.Values{}
	setIf(q, "account", p.Account)
	setIf(q, "customer_id", p.CustomerID)
	setIf(q, "status", string(p.Status))
	setTimeIf(q, "created_after", p.CreatedAfter)
	setTimeIf(q, "created_before", p.CreatedBefore)
	listQuery{limit: p.Limit, cursor: p.Cursor}.set(q)
	return q
}

// ListInvoices returns an iterator over the invoices params selects, newest
// first, fetching one page of params.Limit at a time as it goes; new
// invoices never shift later pages. An error, such as an *Error matching
// ErrInvalidRequest for a bad parameter, is yielded once and ends it.
func (c *Client) ListInvoices(ctx context.Context, params InvoiceListParams, opts ...CallOption) iter.Seq2[Invoice, error] {
	return listAll[Invoice](ctx, c, "/invoices", params.query(), opts)
}

// ListInvoicesPage returns the one page of invoices params selects, for a
// caller that keeps the cursor itself. It fails with an *Error matching
// ErrInvalidRequest for a bad parameter or a cursor this list did not
// return.
func (c *Client) ListInvoicesPage(ctx context.Context, params InvoiceListParams, opts ...CallOption) (*Page[Invoice], error) {
	return getPage[Invoice](ctx, c, "/invoices", params.query(), opts)
}
