package console

import (
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"
	"github.com/invoiced/invoiced/client"
	"github.com/invoiced/invoiced/events"
)

// pager links a list's pages: Next continues it, First starts it over.
type pager struct {
	Next  string
	First string
}

// newPager returns the links of a list at page (path) filtered by filter,
// showing a page after cursor and continuing at next ("" for none).
func newPager(page string, filter url.Values, cursor, next string) pager {
	var p pager
	if next != "" {
		q := cloneValues(filter)
		q.Set("cursor", next)
		p.Next = page + "?" + q.Encode()
	}
	if cursor != "" {
		p.First = page
		if len(filter) > 0 {
			p.First += "?" + filter.Encode()
		}
	}
	return p
}

// pick returns the named, non-empty parameters of q.
func pick(q url.Values, names ...string) url.Values {
	out := url.Values{}
	for _, n := range names {
		if v := q.Get(n); v != "" {
			out.Set(n, v)
		}
	}
	return out
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// invoicesData is the invoices page's data.
type invoicesData struct {
	CustomerID string
	Status     string
	Page       *client.Page[client.Invoice]
	Pager      pager
}

func (c *Console) invoicesPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	filter := pick(q, "customer_id", "status")
	data := invoicesData{CustomerID: q.Get("customer_id"), Status: q.Get("status")}
	who := c.callerOf(r)
	var err error
	data.Page, err = who.api.ListInvoicesPage(r.Context(), client.InvoiceListParams{
		CustomerID: data.CustomerID, Status: client.InvoiceStatus(data.Status), Cursor: q.Get("cursor"),
	}, who.id)
	if err != nil {
		c.fail(w, r, err, Prefix+"/invoices")
		return
	}
	data.Pager = newPager(Prefix+"/invoices", filter, q.Get("cursor"), data.Page.NextCursor)
	c.render(w, r, http.StatusOK, "invoices", view{Title: "Invoices", Nav: "invoices", Data: data})
}

// invoiceData is the invoice page's data.
type invoiceData struct {
	Invoice      *client.Invoice
	History      []events.Event
	HistoryError string // completes "The history …"
}

func (c *Console) invoicePage(w http.ResponseWriter, r *http.Request) {
	var data invoiceData
	who := c.callerOf(r)
	var err error
	if data.Invoice, err = who.api.GetInvoice(r.Context(), chi.URLParam(r, "id"), who.id); err != nil {
		c.fail(w, r, err, Prefix+"/invoices")
		return
	}
	// The API has just admitted the session for this invoice; its events
	// are read beside the API, which does not show them.
	switch {
	case c.src.History == nil:
		data.HistoryError = "is not available in this process"
	default:
		hist, err := c.src.History.History(r.Context(), data.Invoice.ID)
		if err != nil {
			c.cfg.Logger.Warn("invoice history unreadable", "invoice", data.Invoice.ID, "err", err)
			data.HistoryError = "could not be read just now; the cause is logged"
		}
		data.History = hist
	}
	c.render(w, r, http.StatusOK, "invoice", view{Title: "Invoice " + short(data.Invoice.ID), Nav: "invoices", Data: data})
}
