package metrics

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStream returns js with every PublishMsg counted and timed by kind of
// message and result, and every outcome the processor stores counted.
func (m *Metrics) JetStream(js jetstream.JetStream) jetstream.JetStream {
	return &publishes{JetStream: js, m: m}
}

type publishes struct {
	jetstream.JetStream
	m *Metrics
}

// PublishMsg publishes msg through the wrapped JetStream and observes it.
func (p *publishes) PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	start := time.Now()
	ack, err := p.JetStream.PublishMsg(ctx, msg, opts...)
	kind := kindOf(msg.Subject)
	p.m.publishDuration.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	result := "stored"
	var apiErr *jetstream.APIError
	switch {
	case errors.As(err, &apiErr):
		result = "refused" // by a header's condition, e.g. an expected sequence
	case err != nil:
		result = "error"
	case ack.Duplicate:
		result = "duplicate"
	case kind == "invoice_processed" || kind == "invoice_failed":
		p.m.outcomes.WithLabelValues(strings.TrimPrefix(kind, "invoice_")).Inc()
	}
	p.m.publishes.WithLabelValues(kind, result).Inc()
	return ack, err
}

// kindOf names the kind of message published to subject, with few enough
// values to label a metric.
func kindOf(subject string) string {
	if at, err := events.ParseSubject(subject); err == nil {
		return map[events.Type]string{
			events.InvoiceRequested: "invoice_requested",
			events.InvoiceProcessed: "invoice_processed",
			events.InvoiceFailed:    "invoice_failed",
		}[at.Type]
	}
	if !strings.HasPrefix(subject, "webhooks.") {
		return "other"
	}
	for _, suffix := range []string{".manual", ".retry", ".schedule"} {
		if strings.HasSuffix(subject, suffix) {
			return "webhook_task_" + suffix[1:]
		}
	}
	return "webhook_task"
}
