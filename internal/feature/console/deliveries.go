package console

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/go-chi/chi/v5"
	"github.com/invoiced/invoiced/client"
)

// deliveryFilter is what a delivery list is filtered by.
type deliveryFilter struct {
	Status         string
	SubscriptionID string
	EventType      string
}

// params returns the API's list parameters for the filter, from cursor on.
func (f deliveryFilter) params(cursor string) client.DeliveryListParams {
	return client.DeliveryListParams{Status: client.DeliveryStatus(f.Status), SubscriptionID: f.SubscriptionID,
		EventType: client.EventType(f.EventType), Cursor: cursor}
}

// deliveriesData is the data of the deliveries and dead letters pages.
type deliveriesData struct {
	Filter   deliveryFilter
	Subs     []client.Subscription
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
	who := c.callerOf(r)
	list, err := who.api.ListDeliveriesPage(r.Context(), data.Filter.params(query.Get("cursor")), who.id)
	if err != nil {
		return data, err
	}
	data.Page = deliveryPageOf(list)
	if data.Subs, err = subscriptions(r.Context(), who); err != nil {
		return data, err
	}
	data.Unlisted = data.Filter.SubscriptionID != "" &&
		!slices.ContainsFunc(data.Subs, func(s client.Subscription) bool { return s.ID == data.Filter.SubscriptionID })
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
	data, err := c.listDeliveries(r, Prefix+"/dead-letters", Prefix+"/live/dead-letters", string(client.DeliveryDead))
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
	who := c.callerOf(r)
	d, err := who.api.GetDelivery(r.Context(), chi.URLParam(r, "id"), who.id)
	if err != nil {
		return delivery{}, err
	}
	return delivery{*d}, nil
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
	who := c.callerOf(r)
	if _, err := who.api.RetryDelivery(r.Context(), chi.URLParam(r, "id"), who.id); err != nil {
		c.fail(w, r, err, back)
		return
	}
	c.done(w, r, back, "Another attempt is queued; it shows here within seconds.")
}
