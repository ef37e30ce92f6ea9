package dispatcher

import (
	"context"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/consume"
	"github.com/invoiced/invoiced/internal/infra/tracing"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
)

// fanOut turns one invoice event into one delivery per matching
// subscription of the invoice's account: a task on the WEBHOOKS stream, keyed by the derived
// delivery ID and written only if absent (under its own subject with
// expected sequence 0), so a fan-out repeated after a crash neither loses
// nor doubles a delivery. The delivery's record is written by its first
// attempt, or when the attempt is put off, so a delivery costs one write to
// the log on the way to its receiver, not two.
func (d *Dispatcher) fanOut(ctx context.Context, msg jetstream.Msg) error {
	ctx, span := tracing.Consume(withCarried(ctx, msg), d.cfg.Tracer, "fan-out", msg.Headers())
	err := d.fanOutEvent(ctx, msg)
	tracing.End(span, err)
	return err
}

// fanOutEvent is fanOut within the event's span.
func (d *Dispatcher) fanOutEvent(ctx context.Context, msg jetstream.Msg) error {
	ev, err := events.DecodeMsg(msg.Subject(), msg.Data())
	if err != nil {
		d.skipped.Add(1)
		return consume.Permanent(err)
	}
	eventType := webhook.EventTypeFor(ev.Type)
	if eventType == "" {
		return nil
	}
	subs := d.subs.matching(ev.Account(), eventType, ev.Time)
	for _, sub := range subs {
		task, err := webhook.NewTask(ev, eventType, sub.ID)
		if err != nil {
			return consume.Permanent(err)
		}
		if err := d.enqueue(ctx, task); err != nil {
			return err
		}
		if d.afterEnqueue != nil {
			d.afterEnqueue()
		}
	}
	if span := tracing.Recording(ctx); span != nil {
		span.SetAttributes(fanOutAttributes(ev, eventType)...)
		span.SetAttributes(attribute.Int("invoiced.deliveries", len(subs)))
	}
	d.cfg.Logger.Debug("event fanned out", "request_id", requestID(ctx), "invoice", ev.Invoice.ID, "account", ev.Account(),
		"event", ev.ID, "type", eventType, "deliveries", len(subs))
	return nil
}

// enqueue publishes the delivery's task unless it was published before.
func (d *Dispatcher) enqueue(ctx context.Context, task webhook.Task) error {
	return webhook.PublishTask(ctx, d.js, task, requestID(ctx))
}

// fanOutAttributes describe the span of fanning ev out as eventType.
func fanOutAttributes(ev events.Event, eventType string) []attribute.KeyValue {
	return []attribute.KeyValue{attribute.String("invoiced.invoice_id", ev.Invoice.ID), attribute.String("invoiced.event_type", eventType)}
}
