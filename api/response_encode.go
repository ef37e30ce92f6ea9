package api

import (
	"net/http"

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
// json.Marshal(newInvoiceResponse(inv)) encodes it: the response has the
// invoice's fields, with no metadata shown as {}. Like json.Marshal, it
// fails for a time that RFC 3339 cannot represent.
func appendInvoiceResponse(b []byte, inv events.Invoice) ([]byte, error) {
	if inv.Metadata == nil {
		inv.Metadata = map[string]string{}
	}
	return events.AppendInvoice(b, inv)
}
