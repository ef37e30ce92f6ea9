package tracing

import (
	"context"

	"github.com/invoiced/invoiced/events"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Child starts a span of kind named name under ctx's span, with the tracer
// that made ctx's span, so code deep in a request needs no tracer of its
// own. Outside any span it starts nothing that is recorded.
func Child(ctx context.Context, name string, kind trace.SpanKind) (context.Context, trace.Span) {
	return trace.SpanFromContext(ctx).TracerProvider().Tracer(Name).Start(ctx, name, trace.WithSpanKind(kind))
}

// End ends span, marked as failed with err unless err is nil.
func End(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// TraceID returns the ID of ctx's trace, or "" outside one.
func TraceID(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		return sc.TraceID().String()
	}
	return ""
}

// Publish starts the span of publishing ev as msg, under ctx's span, and
// sets its trace context on msg, so whoever handles ev continues the
// trace from it.
func Publish(ctx context.Context, ev events.Event, msg *nats.Msg) (context.Context, trace.Span) {
	ctx, span := Child(ctx, "publish "+string(ev.Type), trace.SpanKindProducer)
	if span.IsRecording() {
		span.SetAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", msg.Subject),
			attribute.String("messaging.message.id", ev.ID),
			attribute.String("invoiced.invoice_id", ev.Invoice.ID),
		)
	}
	Inject(ctx, msg.Header)
	return ctx, span
}

// Consume starts, with tracer, the span named name of handling a message
// whose headers are h, continuing the trace h carries or, without one,
// starting a trace.
func Consume(ctx context.Context, tracer trace.Tracer, name string, h nats.Header) (context.Context, trace.Span) {
	return tracer.Start(Extract(ctx, h), name, trace.WithSpanKind(trace.SpanKindConsumer))
}

// Recording returns ctx's span when it is recorded, and nil when it is
// not, so that what describes a span is built only for one that is kept.
func Recording(ctx context.Context) trace.Span {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		return span
	}
	return nil
}
