package api

import (
	"time"

	"github.com/invoiced/invoiced/events"
)

// invoiceResponse is an invoice as the API shows it.
type invoiceResponse struct {
	ID            string            `json:"id"`
	Account       string            `json:"account,omitempty"`
	Status        events.Status     `json:"status"`
	CustomerID    string            `json:"customer_id"`
	AmountCents   int64             `json:"amount_cents"`
	Currency      string            `json:"currency"`
	Description   string            `json:"description"`
	Metadata      map[string]string `json:"metadata"`
	CreatedAt     time.Time         `json:"created_at"`
	ProcessedAt   *time.Time        `json:"processed_at,omitempty"`
	FailedAt      *time.Time        `json:"failed_at,omitempty"`
	FailureReason string            `json:"failure_reason,omitempty"`
}

func newInvoiceResponse(inv events.Invoice) invoiceResponse {
	md := inv.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return invoiceResponse{
		ID:            inv.ID,
		Account:       inv.Account,
		Status:        inv.Status,
		CustomerID:    inv.CustomerID,
		AmountCents:   inv.AmountCents,
		Currency:      inv.Currency,
		Description:   inv.Description,
		Metadata:      md,
		CreatedAt:     inv.CreatedAt,
		ProcessedAt:   inv.ProcessedAt,
		FailedAt:      inv.FailedAt,
		FailureReason: inv.FailureReason,
	}
}

// invoiceListResponse is one page of GET /invoices.
type invoiceListResponse struct {
	Data       []invoiceResponse `json:"data"`
	HasMore    bool              `json:"has_more"`
	NextCursor string            `json:"next_cursor,omitempty"`
}
