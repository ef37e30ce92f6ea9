package console

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/invoiced/invoiced/client"
)

// rateMinutes is how many minutes, the current one last, the attempt
// rates cover.
const rateMinutes = 5

// overviewLimit is how many deliveries the overview shows.
const overviewLimit = 10

// healthView is the health panel's data.
type healthView struct {
	Consumers []ConsumerLag
	Dead      int
	Error     string // why lag and dead count are missing
	Minutes   []minuteCount
	Sampled   int    // deliveries the rates were counted over
	RateError string // why the rates are missing
}

// minuteCount is how many attempts started in one minute, by outcome.
type minuteCount struct {
	Minute                  time.Time
	Success, Failure, Error int
}

// Label is the minute as people read it.
func (m minuteCount) Label() string { return m.Minute.UTC().Format("15:04") }

// overviewData is the overview page's data.
type overviewData struct {
	Health  healthView
	Page    deliveryPage
	LiveURL string
	Limit   int
}

func (c *Console) overviewPage(w http.ResponseWriter, r *http.Request) {
	data := overviewData{Limit: overviewLimit}
	who := c.callerOf(r)
	page, err := who.api.ListDeliveriesPage(r.Context(), client.DeliveryListParams{Limit: overviewLimit}, who.id)
	if err != nil {
		c.fail(w, r, err, Prefix+"/deliveries")
		return
	}
	data.Page = deliveryPageOf(page)
	data.LiveURL = Prefix + "/live/deliveries?" + url.Values{"limit": {itoa(overviewLimit)}}.Encode()
	data.Health = c.healthOf(r.Context(), who)
	c.render(w, r, http.StatusOK, "overview", view{Title: "Overview", Nav: "overview", Data: data})
}

// healthOf gathers the health panel: lag and dead count from the health
// reader, attempt rates from the deliveries the API lists.
func (c *Console) healthOf(ctx context.Context, who caller) healthView {
	var hv healthView
	switch {
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
	ds, err := c.recentDeliveries(ctx, who)
	if err != nil {
		hv.RateError = err.Error()
		return hv
	}
	hv.Minutes, hv.Sampled = countAttempts(ds, c.now(), rateMinutes), len(ds)
	return hv
}

// recentDeliveries lists the newest deliveries and the newest failing ones
// (whose retries are recent attempts of older deliveries), each once.
func (c *Console) recentDeliveries(ctx context.Context, who caller) ([]delivery, error) {
	seen := map[string]bool{}
	var out []delivery
	for _, status := range []client.DeliveryStatus{"", client.DeliveryFailing} {
		page, err := who.api.ListDeliveriesPage(ctx, client.DeliveryListParams{Status: status, Limit: 100}, who.id)
		if err != nil {
			return nil, err
		}
		for _, d := range page.Data {
			if !seen[d.ID] {
				seen[d.ID] = true
				out = append(out, delivery{d})
			}
		}
	}
	return out, nil
}

// countAttempts counts the attempts of ds that started in each of the last
// minutes minutes up to now, oldest minute first, by outcome.
func countAttempts(ds []delivery, now time.Time, minutes int) []minuteCount {
	first := now.UTC().Truncate(time.Minute).Add(-time.Duration(minutes-1) * time.Minute)
	out := make([]minuteCount, minutes)
	for i := range out {
		out[i].Minute = first.Add(time.Duration(i) * time.Minute)
	}
	for _, d := range ds {
		for _, a := range d.Attempts {
			if a.StartedAt.Before(first) || a.StartedAt.After(now) {
				continue
			}
			m := &out[int(a.StartedAt.Sub(first)/time.Minute)]
			switch outcome(a.HTTPStatus) {
			case "success":
				m.Success++
			case "failure":
				m.Failure++
			default:
				m.Error++
			}
		}
	}
	return out
}
