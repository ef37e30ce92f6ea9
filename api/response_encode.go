package api

import (
	"net/http"

	"github.com/invoiced/invoiced/events"
)

// writeInvoice answers with status and inv as the API shows it, the same
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
	return events.AppendInvoice(b, newInvoiceResponse(inv))
}
