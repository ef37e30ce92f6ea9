package console

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/go-chi/chi/v5"
	"github.com/invoiced/invoiced/internal/webhook"
)

// deliveryFilter is what a delivery list is filtered by.
type deliveryFilter struct {
	Status         string
	SubscriptionID string
	EventType      string
}

// deliveriesData is the data of the deliveries and dead letters pages.
type deliveriesData struct {
	Filter   deliveryFilter
	Subs     []subscription
	Unlisted bool // the filter names a subscription not in Subs
	Page     deliveryPage
	LiveURL  string // the live fragment of the first page; "" on later pages
	Pager    pager
	Since    string // the recover forms' default
	Limit    int
}

// listDeliveries reads the page of deliveries r asks for (of status, when
// not "") and the subscriptions to filter by; page is the list's own path
// and live its fragment's.
func (c *Console) listDeliveries(r *http.Request, page, live, status string) (deliveriesData, error) {
	q := r.URL.Query()
	filter := pick(q, "status", "subscription_id", "event_type")
	if status != "" {
		filter = pick(q, "subscription_id")
	}
	query := cloneValues(filter)
	if status != "" {
		query.Set("status", status)
	}
	if cur := q.Get("cursor"); cur != "" {
		query.Set("cursor", cur)
	}
	data := deliveriesData{Filter: deliveryFilter{
		Status: query.Get("status"), SubscriptionID: query.Get("subscription_id"), EventType: query.Get("event_type"),
	}}
	who := callerOf(r)
	if err := c.api.get(r.Context(), who, "/webhooks/deliveries", query, &data.Page); err != nil {
		return data, err
	}
	var subs subscriptionList
	if err := c.api.get(r.Context(), who, "/webhooks/subscriptions", nil, &subs); err != nil {
		return data, err
	}
	data.Subs = subs.Data
	data.Unlisted = data.Filter.SubscriptionID != "" &&
		!slices.ContainsFunc(subs.Data, func(s subscription) bool { return s.ID == data.Filter.SubscriptionID })
	data.Pager = newPager(page, filter, q.Get("cursor"), data.Page.NextCursor)
	if q.Get("cursor") == "" {
		data.LiveURL = live
		if len(filter) > 0 {
			data.LiveURL += "?" + filter.Encode()
		}
	}
	return data, nil
}

func (c *Console) deliveriesPage(w http.ResponseWriter, r *http.Request) {
	data, err := c.listDeliveries(r, Prefix+"/deliveries", Prefix+"/live/deliveries", "")
	if err != nil {
		c.fail(w, r, err, Prefix+"/deliveries")
		return
	}
	c.render(w, r, http.StatusOK, "deliveries", view{Title: "Deliveries", Nav: "deliveries", Data: data})
}

func (c *Console) deadLettersPage(w http.ResponseWriter, r *http.Request) {
	data, err := c.listDeliveries(r, Prefix+"/dead-letters", Prefix+"/live/dead-letters", webhook.DeliveryDead)
	if err != nil {
		c.fail(w, r, err, Prefix+"/dead-letters")
		return
	}
	data.Since = c.dayAgo()
	c.render(w, r, http.StatusOK, "dead-letters", view{Title: "Dead letters", Nav: "dead-letters", Data: data})
}

// deliveryData is one delivery's page data.
type deliveryData struct {
	D delivery
}

// loadDelivery reads the delivery r names.
func (c *Console) loadDelivery(r *http.Request) (delivery, error) {
	var d delivery
	err := c.api.get(r.Context(), callerOf(r), deliveryPath(r), nil, &d)
	return d, err
}

// deliveryPath is the API path of the delivery r names.
func deliveryPath(r *http.Request) string {
	return "/webhooks/deliveries/" + url.PathEscape(chi.URLParam(r, "id"))
}

func (c *Console) deliveryPage(w http.ResponseWriter, r *http.Request) {
	d, err := c.loadDelivery(r)
	if err != nil {
		c.fail(w, r, err, Prefix+"/deliveries")
		return
	}
	c.render(w, r, http.StatusOK, "delivery", view{Title: "Delivery " + short(d.ID), Nav: "deliveries", Data: deliveryData{D: d}})
}

func (c *Console) retryDelivery(w http.ResponseWriter, r *http.Request) {
	back := returnTo(r, Prefix+"/deliveries/"+url.PathEscape(chi.URLParam(r, "id")))
	if err := c.api.do(r.Context(), callerOf(r), http.MethodPost, deliveryPath(r)+"/retry", nil, nil); err != nil {
		c.fail(w, r, err, back)
		return
	}
	c.done(w, r, back, "Another attempt is queued; it shows here within seconds.")
}
