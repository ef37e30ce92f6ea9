package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// scrapeTimeout bounds what a gauge read at scrape time may wait for.
const scrapeTimeout = 2 * time.Second

// WatchReady reports, at every scrape, 1 while check passes and 0 while it
// fails, as /readyz answers 200 or 503. It fails when called twice.
func (m *Metrics) WatchReady(check func(context.Context) error) error {
	return m.reg.Register(&scrapedGauge{
		desc: prometheus.NewDesc("invoiced_ready", "1 while this process's /readyz answers 200, else 0.", nil, nil),
		read: func(ctx context.Context) (float64, bool) {
			if check(ctx) != nil {
				return 0, true
			}
			return 1, true
		},
	})
}

// Oldest returns when the oldest of something was made, and false when
// there is none.
type Oldest func(context.Context) (time.Time, bool, error)

// WatchOldestUndelivered reports, at every scrape, the age of the oldest
// webhook delivery that is neither delivered nor dead, the oldest of what
// sources return (none: 0). A scrape where a source fails leaves the gauge
// out. It fails when called twice.
func (m *Metrics) WatchOldestUndelivered(sources ...Oldest) error {
	return m.reg.Register(&scrapedGauge{
		desc: prometheus.NewDesc("invoiced_webhook_oldest_undelivered_seconds",
			"Age of the oldest webhook delivery neither delivered nor dead: pending, failing, or a first task not yet attempted; 0 when there is none.", nil, nil),
		read: func(ctx context.Context) (float64, bool) {
			var oldest time.Time
			for _, source := range sources {
				at, ok, err := source(ctx)
				if err != nil {
					return 0, false
				}
				if ok && (oldest.IsZero() || at.Before(oldest)) {
					oldest = at
				}
			}
			if oldest.IsZero() {
				return 0, true
			}
			return max(time.Since(oldest).Seconds(), 0), true
		},
	})
}

// scrapedGauge is a gauge read when scraped, within scrapeTimeout; a read
// that returns false is left out of that scrape.
type scrapedGauge struct {
	desc *prometheus.Desc
	read func(context.Context) (float64, bool)
}

// Describe sends the gauge's description.
func (g *scrapedGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

// Collect reads the gauge and sends it.
func (g *scrapedGauge) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	if v, ok := g.read(ctx); ok {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, v)
	}
}
