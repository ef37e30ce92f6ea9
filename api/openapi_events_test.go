package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/events"
)

// oaEventCases are the answers of listEvents and listInvoiceEvents.
func oaEventCases(f *oaFixtures) []oaCase {
	list := func(name, query string, status int) oaCase {
		return oaCase{name: name, op: "listEvents", method: http.MethodGet, path: "/events" + query, status: status}
	}
	ofInvoice := func(name, id, query string, status int) oaCase {
		return oaCase{name: name, op: "listInvoiceEvents", method: http.MethodGet, path: "/invoices/" + id + "/events" + query, status: status}
	}
	processed := []string{events.EventID(f.processed, events.InvoiceProcessed), events.EventID(f.processed, events.InvoiceRequested)}
	return []oaCase{
		list("200 every event", "", http.StatusOK),
		oaWith(list("200 an invoice's", "?invoice_id="+f.processed, http.StatusOK), oaIDs(processed...)),
		oaWith(list("200 an invoice's outcome", "?invoice_id="+f.processed+"&type=invoice.processed", http.StatusOK), oaIDs(processed[0])),
		list("200 undelivered", "?delivery_success=false", http.StatusOK),
		list("200 delivered", "?delivery_success=true&since="+f.since, http.StatusOK),
		oaWith(list("200 a page", "?limit=1", http.StatusOK), oaWant("has_more", true)),
		oaLax(list("400 unknown parameter", "?invoice=x", http.StatusBadRequest), "invoice"),
		oaLax(list("400 repeated parameter", "?type=invoice.created&type=invoice.failed", http.StatusBadRequest), "type"),
		oaInvalid(list("400 unknown type", "?type=invoice.paid", http.StatusBadRequest), "type"),
		oaInvalid(list("400 since not a time", "?since=yesterday", http.StatusBadRequest), "since"),
		oaInvalid(list("400 delivery_success not a boolean", "?delivery_success=maybe", http.StatusBadRequest), "delivery_success"),
		oaInvalid(list("400 invoice_id not a UUID", "?invoice_id=inv_1", http.StatusBadRequest), "invoice_id"),
		oaInvalid(list("400 limit over the maximum", fmt.Sprintf("?limit=%d", api.MaxListLimit+1), http.StatusBadRequest), "limit"),
		oaLax(list("400 another list's cursor", "?cursor="+f.invoicesCursor, http.StatusBadRequest), "cursor"),
		oaWith(ofInvoice("200 an invoice's history", f.processed, "", http.StatusOK), oaIDs(processed...)),
		oaWith(ofInvoice("200 its request", f.processed, "?type=invoice.created", http.StatusOK), oaIDs(processed[1])),
		ofInvoice("404 unknown invoice", uuid.NewString(), "", http.StatusNotFound),
		oaInvalid(ofInvoice("404 not a UUID", "inv_1", "", http.StatusNotFound), ""),
		oaLax(ofInvoice("400 another invoice's filter", f.processed, "?invoice_id="+f.failed, http.StatusBadRequest), "invoice_id"),
		oaInvalid(ofInvoice("400 limit 0", f.processed, "?limit=0", http.StatusBadRequest), "limit"),
	}
}

// TestEventsShowWhatEachDeliveryDid reads the event of a delivered
// delivery: the event as its webhook announced it, and the delivery.
func TestEventsShowWhatEachDeliveryDid(t *testing.T) {
	e := newOAEnv(t, oaEnvOptions{})
	f := oaSetupMain(t, e)
	invoice := e.delivery(t, f.delivered).InvoiceID
	r := oaSend(t, e.servers[oaMain], oaGet("", "listInvoiceEvents", "/invoices/"+invoice+"/events", http.StatusOK))
	var page struct {
		Data []struct {
			ID, Type   string
			InvoiceID  string `json:"invoice_id"`
			Data       struct{ ID, Status string }
			Deliveries []struct {
				ID, Status string
				Attempts   int
			}
		}
	}
	r.decode(t, &page)
	found := false
	for _, got := range page.Data {
		for _, d := range got.Deliveries {
			found = found || (got.ID == f.deliveredEvent && d.ID == f.delivered && d.Status == "delivered" && d.Attempts >= 1)
		}
		if got.Data.ID != got.InvoiceID || got.InvoiceID != invoice || got.Type == "" {
			t.Fatalf("%s", r.body)
		}
	}
	if r.status != http.StatusOK || !found {
		t.Fatalf("%d %s", r.status, r.body)
	}
}
