package console

import (
	"net/http"
	"strconv"

	"github.com/invoiced/invoiced/client"
)

// liveDeliveries answers the rows of the first page of deliveries, as
// filtered by the query, for the deliveries page and the overview.
func (c *Console) liveDeliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := deliveryFilter{Status: q.Get("status"), SubscriptionID: q.Get("subscription_id"), EventType: q.Get("event_type")}
	params := f.params("")
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			http.Error(w, "limit must be a whole number from 1", http.StatusBadRequest)
			return
		}
		params.Limit = n
	}
	c.liveRows(w, r, "deliveryRows", params)
}

// liveDeadLetters answers the rows of the first page of dead letters.
func (c *Console) liveDeadLetters(w http.ResponseWriter, r *http.Request) {
	f := deliveryFilter{Status: string(client.DeliveryDead), SubscriptionID: r.URL.Query().Get("subscription_id")}
	c.liveRows(w, r, "deadRows", f.params(""))
}

// liveRows answers the fragment rows with the deliveries params lists.
func (c *Console) liveRows(w http.ResponseWriter, r *http.Request, rows string, params client.DeliveryListParams) {
	who := c.callerOf(r)
	page, err := who.api.ListDeliveriesPage(r.Context(), params, who.id)
	if err != nil {
		c.failFragment(w, r, err)
		return
	}
	c.fragment(w, r, rows, deliveriesData{Page: deliveryPageOf(page)})
}

// liveDelivery answers one delivery's status and attempts.
func (c *Console) liveDelivery(w http.ResponseWriter, r *http.Request) {
	d, err := c.loadDelivery(r)
	if err != nil {
		c.failFragment(w, r, err)
		return
	}
	c.fragment(w, r, "deliveryLive", deliveryData{D: d})
}

// liveHealth answers the health panel.
func (c *Console) liveHealth(w http.ResponseWriter, r *http.Request) {
	aud, err := c.audienceOf(r)
	if err != nil {
		c.failFragment(w, r, err)
		return
	}
	c.fragment(w, r, "health", overviewData{Health: c.healthOf(r.Context(), aud)})
}

func itoa(n int) string { return strconv.Itoa(n) }

// plural says n things: "1 delivery", "2 deliveries".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return itoa(n) + " " + many
}
