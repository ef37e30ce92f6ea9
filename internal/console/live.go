package console

import (
	"net/http"
	"strconv"

	"github.com/invoiced/invoiced/internal/webhook"
)

// liveDeliveries answers the rows of the first page of deliveries, as
// filtered by the query, for the deliveries page and the overview.
func (c *Console) liveDeliveries(w http.ResponseWriter, r *http.Request) {
	q := pick(r.URL.Query(), "status", "subscription_id", "event_type", "limit")
	var data deliveriesData
	if err := c.api.get(r.Context(), callerOf(r), "/webhooks/deliveries", q, &data.Page); err != nil {
		c.failFragment(w, r, err)
		return
	}
	c.fragment(w, r, "deliveryRows", data)
}

// liveDeadLetters answers the rows of the first page of dead letters.
func (c *Console) liveDeadLetters(w http.ResponseWriter, r *http.Request) {
	q := pick(r.URL.Query(), "subscription_id")
	q.Set("status", webhook.DeliveryDead)
	var data deliveriesData
	if err := c.api.get(r.Context(), callerOf(r), "/webhooks/deliveries", q, &data.Page); err != nil {
		c.failFragment(w, r, err)
		return
	}
	c.fragment(w, r, "deadRows", data)
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
	c.fragment(w, r, "health", overviewData{Health: c.healthOf(r.Context(), callerOf(r))})
}

func itoa(n int) string { return strconv.Itoa(n) }

// plural says n things: "1 delivery", "2 deliveries".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return itoa(n) + " " + many
}
