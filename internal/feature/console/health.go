package console

import (
	"context"
	"net/http"
	"net/url"

	"github.com/invoiced/invoiced/client"
)

// overviewLimit is how many deliveries the overview shows.
const overviewLimit = 10

// healthView is the health panel's data.
type healthView struct {
	Consumers    []ConsumerLag
	Dead         int
	Error        string // why lag and dead count are missing
	OperatorOnly bool   // the key sees one account: no queues of the service
}

// overviewData is the overview page's data.
type overviewData struct {
	Health   healthView
	Activity activityView
	Page     deliveryPage
	LiveURL  string
	Limit    int
}

func (c *Console) overviewPage(w http.ResponseWriter, r *http.Request) {
	data := overviewData{Limit: overviewLimit}
	who := c.callerOf(r)
	page, err := who.api.ListDeliveriesPage(r.Context(), client.DeliveryListParams{Limit: overviewLimit}, who.id)
	if err != nil {
		c.fail(w, r, err, Prefix+"/deliveries")
		return
	}
	aud, err := c.audienceOf(r)
	if err != nil {
		c.fail(w, r, err, Prefix+"/deliveries")
		return
	}
	data.Page = deliveryPageOf(page)
	data.LiveURL = Prefix + "/live/deliveries?" + url.Values{"limit": {itoa(overviewLimit)}}.Encode()
	data.Health = c.healthOf(r.Context(), aud)
	data.Activity = c.overviewActivity(aud)
	c.render(w, r, http.StatusOK, "overview", view{Title: "Overview", Nav: "overview", Data: data})
}

// healthOf gathers the health panel: lag and dead count from the health
// reader, for an audience that sees everything. Both are of the whole
// service, so an account's key sees neither.
func (c *Console) healthOf(ctx context.Context, aud audience) healthView {
	var hv healthView
	switch {
	case !aud.all:
		hv.OperatorOnly = true
	case c.src.Health == nil:
		hv.Error = "not available in this process"
	default:
		h, err := c.src.Health.Health(ctx)
		if err != nil {
			c.cfg.Logger.Warn("console health unreadable", "err", err)
			hv.Error = "could not be read just now; the cause is logged"
		}
		hv.Consumers, hv.Dead = h.Consumers, h.Dead
	}
	return hv
}
