package api_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
)

// oaDeliveriesPath is the path of the deliveries.
const oaDeliveriesPath = "/webhooks/deliveries"

// oaReadDeliveryCases are listDeliveries's and getDelivery's answers.
func oaReadDeliveryCases(f *oaFixtures) []oaCase {
	return []oaCase{
		oaGet("200 every delivery", "listDeliveries", oaDeliveriesPath, http.StatusOK),
		oaWith(oaGet("200 filtered", "listDeliveries", oaDeliveriesPath+"?subscription_id="+f.okSub+"&status=delivered&event_type=invoice.processed", http.StatusOK),
			func(t testing.TB, r oaResult) {
				var p struct {
					Data []struct {
						EventType string `json:"event_type"`
					}
				}
				r.decode(t, &p)
				if len(p.Data) != 1 || p.Data[0].EventType != "invoice.processed" {
					t.Fatalf("%s", r.body)
				}
			}),
		oaWith(oaGet("200 a page", "listDeliveries", oaDeliveriesPath+"?limit=1", http.StatusOK), oaWant("has_more", true)),
		oaGet("200 the next page", "listDeliveries", oaDeliveriesPath+"?limit=1&cursor="+f.deliveriesCursor, http.StatusOK),
		oaInvalid(oaGet("400 unknown status", "listDeliveries", oaDeliveriesPath+"?status=sent", http.StatusBadRequest), "status"),
		oaInvalid(oaGet("400 empty status", "listDeliveries", oaDeliveriesPath+"?status=", http.StatusBadRequest), "status"),
		oaInvalid(oaGet("400 subscription not a UUID", "listDeliveries", oaDeliveriesPath+"?subscription_id=sub_1", http.StatusBadRequest), "subscription_id"),
		oaInvalid(oaGet("400 unknown event type", "listDeliveries", oaDeliveriesPath+"?event_type=invoice.paid", http.StatusBadRequest), "event_type"),
		oaInvalid(oaGet("400 limit 0", "listDeliveries", oaDeliveriesPath+"?limit=0", http.StatusBadRequest), "limit"),
		oaInvalid(oaGet("400 malformed cursor", "listDeliveries", oaDeliveriesPath+"?cursor=%25%25", http.StatusBadRequest), "cursor"),
		oaLax(oaGet("400 another list's cursor", "listDeliveries", oaDeliveriesPath+"?cursor="+f.invoicesCursor, http.StatusBadRequest), "cursor"),
		oaLax(oaGet("400 unknown parameter", "listDeliveries", oaDeliveriesPath+"?since="+f.since, http.StatusBadRequest), "since"),
		oaLax(oaGet("400 repeated parameter", "listDeliveries", oaDeliveriesPath+"?limit=1&limit=2", http.StatusBadRequest), "limit"),
		oaOn(oaWith(oaGet("200 an unreadable record is left out", "listDeliveries", oaDeliveriesPath+"?subscription_id="+f.badDeliverySub, http.StatusOK),
			oaIDs()), oaCorrupt),
		oaWith(oaGet("200 an invoice's", "listDeliveries", oaDeliveriesPath+"?invoice_id="+f.processed, http.StatusOK),
			oaStatuses("delivered", "failing", "delivered")),
		oaWith(oaGet("200 an invoice's of one type", "listDeliveries", oaDeliveriesPath+"?invoice_id="+f.processed+"&event_type=invoice.processed&status=delivered", http.StatusOK),
			oaStatuses("delivered")),
		oaWith(oaGet("200 an event's", "listDeliveries", oaDeliveriesPath+"?event_id="+f.deliveredEvent, http.StatusOK), oaIDs(f.delivered)),
		oaWith(oaGet("200 an event's at another subscription", "listDeliveries", oaDeliveriesPath+"?event_id="+f.deliveredEvent+"&subscription_id="+f.failSub, http.StatusOK),
			oaIDs()),
		oaWith(oaGet("200 an unknown invoice's", "listDeliveries", oaDeliveriesPath+"?invoice_id="+uuid.NewString(), http.StatusOK), oaIDs()),
		oaWith(oaGet("200 created in a window", "listDeliveries", oaDeliveriesPath+"?subscription_id="+f.okSub+"&created_after="+f.since+"&created_before="+oaInAnHour(), http.StatusOK),
			oaStatuses("delivered", "delivered", "delivered", "delivered", "delivered")),
		oaWith(oaGet("200 created before an hour ago", "listDeliveries", oaDeliveriesPath+"?created_before="+f.since, http.StatusOK), oaIDs()),
		oaWith(oaGet("200 a filtered page", "listDeliveries", oaDeliveriesPath+"?limit=1&invoice_id="+f.processed, http.StatusOK), oaWant("has_more", true)),
		oaInvalid(oaGet("400 invoice_id not a UUID", "listDeliveries", oaDeliveriesPath+"?invoice_id=inv_1", http.StatusBadRequest), "invoice_id"),
		oaInvalid(oaGet("400 event_id not a UUID", "listDeliveries", oaDeliveriesPath+"?event_id=", http.StatusBadRequest), "event_id"),
		oaInvalid(oaGet("400 created_after not a time", "listDeliveries", oaDeliveriesPath+"?created_after=2024-13-01T00:00:00Z", http.StatusBadRequest), "created_after"),
		oaLax(oaGet("400 created_before not after created_after", "listDeliveries", oaDeliveriesPath+"?created_after="+oaInAnHour()+"&created_before="+f.since, http.StatusBadRequest),
			"created_before"),
		oaWith(oaGet("200 delivered", "getDelivery", oaDeliveriesPath+"/"+f.delivered, http.StatusOK), oaWant("status", "delivered")),
		oaWith(oaGet("200 failing", "getDelivery", oaDeliveriesPath+"/"+f.failing, http.StatusOK), oaWant("status", "failing")),
		oaGet("404 unknown", "getDelivery", oaDeliveriesPath+"/"+uuid.NewString(), http.StatusNotFound),
		oaInvalid(oaGet("404 not a UUID", "getDelivery", oaDeliveriesPath+"/dlv_1", http.StatusNotFound), ""),
		oaOn(oaGet("404 an unreadable record", "getDelivery", oaDeliveriesPath+"/"+f.badDelivery, http.StatusNotFound), oaCorrupt),
	}
}

// oaRetryCases are retryDelivery's answers, in the order replayed.
func oaRetryCases(f *oaFixtures) []oaCase {
	retry := func(name, id string, status int) oaCase {
		return oaCase{name: name, op: "retryDelivery", method: http.MethodPost, path: oaDeliveriesPath + "/" + id + "/retry", status: status}
	}
	return []oaCase{
		retry("202 one more attempt", f.delivered, http.StatusAccepted),
		retry("409 the most attempts", f.full, http.StatusConflict),
		retry("409 the subscription is disabled", f.offDelivery, http.StatusConflict),
		retry("409 the subscription was deleted", f.goneDelivery, http.StatusConflict),
		oaOn(retry("409 a subscription whose record does not decode", f.badSubDelivery, http.StatusConflict), oaCorrupt),
		retry("404 unknown", uuid.NewString(), http.StatusNotFound),
		oaInvalid(retry("404 not a UUID", "dlv_1", http.StatusNotFound), ""),
		oaOn(retry("404 an unreadable record", f.badDelivery, http.StatusNotFound), oaCorrupt),
	}
}
