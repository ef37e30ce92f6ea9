package console

import (
	"html/template"
	"math"
	"net/http"
	"net/url"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
)

// activityMinutes is how many minutes, the current one last, the charts
// cover.
const activityMinutes = readmodel.ActivityMinutes

// activityView is the charts of a page, refreshed from LiveURL.
type activityView struct {
	Charts  []chartView
	LiveURL string
	Whose   string // whose counts they are: every account's, or one's
	Error   string // why there are none
}

// chartView is one chart as the page shows it: the image, and its values
// in a table beneath.
type chartView struct {
	ID, Title string
	SVG       template.HTML
	Columns   []string
	Rows      []chartRow
}

func viewOf(c chart) chartView {
	return chartView{ID: c.ID, Title: c.Title, SVG: c.SVG(), Columns: c.Columns(), Rows: c.Rows()}
}

// minuteSeries picks one value of each minute as a series, with no value
// for the minutes that ended before counting began at since.
func minuteSeries(name string, ms []readmodel.Minute, since time.Time, pick func(readmodel.Minute) float64) chartSeries {
	s := chartSeries{Name: name, Values: make([]float64, len(ms))}
	for i, m := range ms {
		s.Values[i] = pick(m)
		if !m.Start.Add(time.Minute).After(since) {
			s.Values[i] = math.NaN()
		}
	}
	return s
}

// latencySeries returns the attempts' p50 and p99 in milliseconds; no
// value in a minute without attempts.
func latencySeries(ms []readmodel.Minute, since time.Time) []chartSeries {
	of := func(q func(readmodel.Minute) time.Duration) func(readmodel.Minute) float64 {
		return func(m readmodel.Minute) float64 {
			if m.Attempts() == 0 {
				return math.NaN()
			}
			return float64(q(m)) / float64(time.Millisecond)
		}
	}
	return []chartSeries{
		minuteSeries("p50", ms, since, of(func(m readmodel.Minute) time.Duration { return m.P50 })),
		minuteSeries("p99", ms, since, of(func(m readmodel.Minute) time.Duration { return m.P99 })),
	}
}

// attemptSeries returns the attempts by outcome.
func attemptSeries(ms []readmodel.Minute, since time.Time) []chartSeries {
	return []chartSeries{
		minuteSeries("success (2xx)", ms, since, func(m readmodel.Minute) float64 { return float64(m.Success) }),
		minuteSeries("failure (other status)", ms, since, func(m readmodel.Minute) float64 { return float64(m.Failure) }),
		minuteSeries("error (no answer)", ms, since, func(m readmodel.Minute) float64 { return float64(m.Error) }),
	}
}

// sinceNote says when counting began, when that is within the charts.
func sinceNote(ms []readmodel.Minute, since time.Time) string {
	if len(ms) == 0 || !since.After(ms[0].Start) {
		return ""
	}
	return "Counted since " + minuteLabel(since) + " UTC, when this process started; earlier minutes show no values."
}

// startsOf returns the minutes' starts.
func startsOf(ms []readmodel.Minute) []time.Time {
	out := make([]time.Time, len(ms))
	for i, m := range ms {
		out[i] = m.Start
	}
	return out
}

// overviewActivity returns the overview's charts of what aud sees:
// invoices, outcomes, attempts and their latency, and, for an audience
// that sees everything, consumer lag.
func (c *Console) overviewActivity(aud audience) activityView {
	v := activityView{LiveURL: Prefix + "/live/activity", Whose: aud.whose()}
	if c.src.Activity == nil {
		v.Error = "not available in this process"
		return v
	}
	ms, since := c.src.Activity.Minutes(aud.scope()), c.src.Activity.Since()
	times, note := startsOf(ms), sinceNote(ms, since)
	counts := func(id, title string, series ...chartSeries) chart {
		return chart{ID: id, Title: title, Kind: stackedBars, Counts: true, Times: times, Series: series, Note: note}
	}
	charts := []chart{
		counts("chart-accepted", "Invoices accepted per minute",
			minuteSeries("accepted", ms, since, func(m readmodel.Minute) float64 { return float64(m.Accepted) })),
		counts("chart-outcomes", "Invoice outcomes per minute",
			minuteSeries("processed", ms, since, func(m readmodel.Minute) float64 { return float64(m.Processed) }),
			minuteSeries("failed", ms, since, func(m readmodel.Minute) float64 { return float64(m.Failed) })),
		counts("chart-attempts", "Webhook attempts per minute by outcome", attemptSeries(ms, since)...),
		{ID: "chart-latency", Title: "Webhook attempt duration per minute, p50 and p99", Kind: lines, Unit: "ms", Times: times,
			Series: latencySeries(ms, since), Note: note},
	}
	if c.lag != nil && aud.all {
		charts = append(charts, chart{ID: "chart-lag", Title: "Consumer lag: pending and ack pending, highest sampled each minute",
			Kind: lines, Unit: "messages", Times: times, Series: c.lag.series(times),
			Note: "Sampled every " + c.cfg.LagEvery.String() + " while this process runs."})
	}
	for _, ch := range charts {
		v.Charts = append(v.Charts, viewOf(ch))
	}
	return v
}

// subscriptionActivity returns a subscription's charts: its attempts by
// outcome, their latency and its deliveries gone dead.
func (c *Console) subscriptionActivity(id string) activityView {
	v := activityView{LiveURL: Prefix + "/live/subscriptions/" + url.PathEscape(id) + "/activity"}
	if c.src.Activity == nil {
		v.Error = "not available in this process"
		return v
	}
	ms, since := c.src.Activity.Minutes(readmodel.Scope{Subscription: id}), c.src.Activity.Since()
	times, note := startsOf(ms), sinceNote(ms, since)
	for _, ch := range []chart{
		{ID: "chart-sub-attempts", Title: "Its webhook attempts per minute by outcome", Kind: stackedBars, Counts: true, Times: times,
			Series: attemptSeries(ms, since), Note: note},
		{ID: "chart-sub-latency", Title: "Its attempt duration per minute, p50 and p99", Kind: lines, Unit: "ms", Times: times,
			Series: latencySeries(ms, since), Note: note},
		{ID: "chart-sub-dead", Title: "Its deliveries gone dead per minute", Kind: stackedBars, Counts: true, Times: times,
			Series: []chartSeries{minuteSeries("dead", ms, since, func(m readmodel.Minute) float64 { return float64(m.Dead) })}, Note: note},
	} {
		v.Charts = append(v.Charts, viewOf(ch))
	}
	return v
}

// liveActivity answers the overview's charts.
func (c *Console) liveActivity(w http.ResponseWriter, r *http.Request) {
	aud, err := c.audienceOf(r)
	if err != nil {
		c.failFragment(w, r, err)
		return
	}
	c.fragment(w, r, "activityFragment", c.overviewActivity(aud))
}

// liveSubscriptionActivity answers a subscription's charts, once the API
// shows the caller the subscription.
func (c *Console) liveSubscriptionActivity(w http.ResponseWriter, r *http.Request) {
	who := c.callerOf(r)
	sub, err := who.api.GetSubscription(r.Context(), chi.URLParam(r, "id"), who.id)
	if err != nil {
		c.failFragment(w, r, err)
		return
	}
	c.fragment(w, r, "activityFragment", c.subscriptionActivity(sub.ID))
}
