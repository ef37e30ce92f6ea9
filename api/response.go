package api

import (
	"encoding/base64"
	"strconv"
	"strings"
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

// cursorPrefix versions the opaque cursor format.
const cursorPrefix = "v1."

// encodeCursor makes the opaque cursor that continues a list before the
// invoice requested at stream sequence seq.
func encodeCursor(seq uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatUint(seq, 10)))
}

// decodeCursor reverses encodeCursor; it fails with ErrInvalid for anything
// it did not make.
func decodeCursor(c string) (uint64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		if digits, ok := strings.CutPrefix(string(raw), cursorPrefix); ok {
			if seq, err := strconv.ParseUint(digits, 10, 64); err == nil && seq > 0 {
				return seq, nil
			}
		}
	}
	return 0, invalidField("cursor", "is not a cursor this API returned")
}

// parseLimit reads the limit parameter: default when empty, else 1 to max.
func parseLimit(s string, def, maxLimit int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		return 0, invalidField("limit", "must be a whole number from 1 to %d, not %q", maxLimit, s)
	}
	return n, nil
}

// parseStatus reads the status filter.
func parseStatus(s string) (events.Status, error) {
	st := events.Status(s)
	if s != "" && !st.Valid() {
		return "", invalidField("status", "must be %s, %s or %s, not %q",
			events.StatusCreated, events.StatusProcessed, events.StatusFailed, s)
	}
	return st, nil
}
