// Package metrics is invoiced's Prometheus instrumentation: HTTP requests,
// JetStream publishes, idempotent replays, processor outcomes, webhook
// attempts, dead deliveries, disabled subscriptions and the lag of the
// durable consumers and the read model, in a registry of its own beside the
// Go runtime's and the process's collectors.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// latencyBuckets spans a fast JetStream publish to a slow webhook, in
// seconds.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// endToEndBuckets spans a webhook delivered at once to one delivered by
// the last retries of the schedule, days later, in seconds.
var endToEndBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 36000, 86400, 259200}

// Metrics holds the collectors. Its methods are safe for concurrent use.
type Metrics struct {
	reg             *prometheus.Registry
	httpRequests    *prometheus.CounterVec
	httpDuration    *prometheus.HistogramVec
	replays         prometheus.Counter
	publishes       *prometheus.CounterVec
	publishDuration *prometheus.HistogramVec
	outcomes        *prometheus.CounterVec
	attempts        *prometheus.CounterVec
	attemptDuration *prometheus.HistogramVec
	endToEnd        *prometheus.HistogramVec
	dead            prometheus.Counter
	disabled        prometheus.Counter
}

// New returns metrics registered in a new registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "invoiced_http_requests_total", Help: "HTTP requests answered, by method, route and status.",
		}, []string{"method", "route", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "invoiced_http_request_duration_seconds", Help: "Time to answer an HTTP request, by method and route.",
			Buckets: latencyBuckets,
		}, []string{"method", "route"}),
		replays: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "invoiced_idempotent_replays_total", Help: "Requests answered from an earlier request with the same Idempotency-Key.",
		}),
		publishes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "invoiced_jetstream_publishes_total", Help: "JetStream publishes, by kind of message and result (stored, duplicate, refused, error).",
		}, []string{"kind", "result"}),
		publishDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "invoiced_jetstream_publish_duration_seconds", Help: "Time from publish to JetStream's acknowledgement, by kind of message.",
			Buckets: latencyBuckets,
		}, []string{"kind"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "invoiced_invoice_outcomes_total", Help: "Outcomes the processor stored, by outcome (processed, failed).",
		}, []string{"outcome"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "invoiced_webhook_attempts_total", Help: "Webhook attempts, by outcome (success: 2xx, failure: another status, error: no answer).",
		}, []string{"outcome"}),
		attemptDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "invoiced_webhook_attempt_duration_seconds", Help: "Time a webhook attempt took, by outcome.",
			Buckets: latencyBuckets,
		}, []string{"outcome"}),
		endToEnd: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "invoiced_webhook_end_to_end_seconds", Help: "Time from an invoice's acceptance to the first successful delivery of each of its webhooks, by event type.",
			Buckets: endToEndBuckets,
		}, []string{"event_type"}),
		dead: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "invoiced_webhook_deliveries_dead_total", Help: "Deliveries that became dead letters.",
		}),
		disabled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "invoiced_webhook_subscriptions_disabled_total", Help: "Subscriptions this process disabled for failing.",
		}),
	}
	m.reg.MustRegister(m.httpRequests, m.httpDuration, m.replays, m.publishes, m.publishDuration,
		m.outcomes, m.attempts, m.attemptDuration, m.endToEnd, m.dead, m.disabled,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Attempted counts one webhook attempt that got status (0 for no answer)
// after d.
func (m *Metrics) Attempted(status int, d time.Duration) {
	outcome := "error"
	switch {
	case status >= 200 && status < 300:
		outcome = "success"
	case status != 0:
		outcome = "failure"
	}
	m.attempts.WithLabelValues(outcome).Inc()
	m.attemptDuration.WithLabelValues(outcome).Observe(d.Seconds())
}

// Delivered records how long after its invoice was accepted a webhook of
// eventType was first delivered.
func (m *Metrics) Delivered(eventType string, d time.Duration) {
	m.endToEnd.WithLabelValues(eventType).Observe(d.Seconds())
}

// Dead counts a delivery that became a dead letter.
func (m *Metrics) Dead() { m.dead.Inc() }

// Disabled counts a subscription disabled for failing.
func (m *Metrics) Disabled() { m.disabled.Inc() }

// WatchReadModel reports, at every scrape, how far the api role's read model
// trails the history, as behind returns it. It fails when called twice.
func (m *Metrics) WatchReadModel(behind func() time.Duration) error {
	return m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "invoiced_read_model_lag_seconds",
		Help: "How long ago the read model last held everything the HISTORY stream held; past --compact-after minus --request-timeout minus 5s, new Idempotency-Keys are refused with 503.",
	}, func() float64 { return min(behind().Seconds(), 1e9) }))
}
