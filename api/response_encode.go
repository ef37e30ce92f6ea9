package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/invoiced/invoiced/events"
)

// writeInvoice answers with status and inv as an invoiceResponse, the same
// bytes and headers as writeJSON(w, status, newInvoiceResponse(inv)).
func writeInvoice(w http.ResponseWriter, status int, inv events.Invoice) {
	bp := getBuffer()
	b, err := appendInvoiceResponse(*bp, inv)
	if err != nil {
		writeJSON(w, status, newInvoiceResponse(inv)) // fails the same way
		return
	}
	writeBody(w, status, b)
	putBuffer(bp, b)
}

// appendInvoiceResponse appends inv exactly as
// json.Marshal(newInvoiceResponse(inv)) encodes it. Like json.Marshal, it
// fails for a time that RFC 3339 cannot represent.
func appendInvoiceResponse(b []byte, inv events.Invoice) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, inv.ID)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, string(inv.Status))
	b = append(b, `,"customer_id":`...)
	b = appendJSONString(b, inv.CustomerID)
	b = append(b, `,"amount_cents":`...)
	b = strconv.AppendInt(b, inv.AmountCents, 10)
	b = append(b, `,"currency":`...)
	b = appendJSONString(b, inv.Currency)
	b = append(b, `,"description":`...)
	b = appendJSONString(b, inv.Description)
	b = append(b, `,"metadata":`...)
	if inv.Metadata == nil {
		b = append(b, "{}"...)
	} else {
		b = appendStringMap(b, inv.Metadata)
	}
	b, err := appendJSONTime(append(b, `,"created_at":`...), inv.CreatedAt)
	if err != nil {
		return nil, err
	}
	if b, err = appendOptionalTime(b, `,"processed_at":`, inv.ProcessedAt); err != nil {
		return nil, err
	}
	if b, err = appendOptionalTime(b, `,"failed_at":`, inv.FailedAt); err != nil {
		return nil, err
	}
	if inv.FailureReason != "" {
		b = appendJSONString(append(b, `,"failure_reason":`...), inv.FailureReason)
	}
	return append(b, '}'), nil
}

// appendOptionalTime appends the member name and t unless t is nil, as
// omitempty does.
func appendOptionalTime(b []byte, name string, t *time.Time) ([]byte, error) {
	if t == nil {
		return b, nil
	}
	return appendJSONTime(append(b, name...), *t)
}

// appendJSONTime appends t as time.Time's MarshalJSON writes it: RFC 3339
// with as many fractional digits as needed, in quotes.
func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	b, err := t.AppendText(append(b, '"'))
	if err != nil {
		return nil, err
	}
	return append(b, '"'), nil
}
