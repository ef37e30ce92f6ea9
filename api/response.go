package api

import (
	"github.com/invoiced/invoiced/events"
)

// newInvoiceResponse returns inv as the API shows it: as events carry it,
// with no metadata shown as {}.
func newInvoiceResponse(inv events.Invoice) events.Invoice {
	if inv.Metadata == nil {
		inv.Metadata = map[string]string{}
	}
	return inv
}

// invoiceListResponse is one page of GET /invoices.
type invoiceListResponse struct {
	Data       []events.Invoice `json:"data"`
	HasMore    bool             `json:"has_more"`
	NextCursor string           `json:"next_cursor,omitempty"`
}
