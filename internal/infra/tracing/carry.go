package tracing

import (
	"context"
	"net/http"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/propagation"
)

// propagator reads and writes W3C traceparent and tracestate.
var propagator = propagation.TraceContext{}

// Header names of W3C Trace Context, as NATS's own message tracing spells
// them: NATS headers are case-sensitive.
const (
	HeaderTraceparent = "traceparent"
	HeaderTracestate  = "tracestate"
)

// natsCarrier is a NATS message's headers, keyed exactly.
type natsCarrier nats.Header

// Get returns the header key.
func (c natsCarrier) Get(key string) string { return nats.Header(c).Get(key) }

// Set sets the header key.
func (c natsCarrier) Set(key, value string) { nats.Header(c).Set(key, value) }

// Keys returns the headers of trace context.
func (c natsCarrier) Keys() []string { return []string{HeaderTraceparent, HeaderTracestate} }

// Inject writes the trace context of ctx's span into h, a NATS message's
// headers, which must not be nil.
func Inject(ctx context.Context, h nats.Header) { propagator.Inject(ctx, natsCarrier(h)) }

// Extract returns ctx carrying, as the remote parent of the spans started
// from it, the trace context h holds, if any.
func Extract(ctx context.Context, h nats.Header) context.Context {
	return propagator.Extract(ctx, natsCarrier(h))
}

// Pass copies the trace context headers of from onto to, unchanged, so a
// message published again continues the trace at the same place.
func Pass(to, from nats.Header) {
	for _, k := range []string{HeaderTraceparent, HeaderTracestate} {
		if v := from.Get(k); v != "" {
			to.Set(k, v)
		}
	}
}

// InjectHTTP writes the trace context of ctx's span into h.
func InjectHTTP(ctx context.Context, h http.Header) {
	propagator.Inject(ctx, propagation.HeaderCarrier(h))
}

// ExtractHTTP returns ctx carrying the trace context h holds, if any.
func ExtractHTTP(ctx context.Context, h http.Header) context.Context {
	return propagator.Extract(ctx, propagation.HeaderCarrier(h))
}
