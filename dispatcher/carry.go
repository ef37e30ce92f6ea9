package dispatcher

import (
	"context"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/infra/tracing"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type carriedKey struct{}

// withCarried returns ctx carrying what msg carries on to the messages
// its handler publishes: the ID of the request that caused it and its
// trace context.
func withCarried(ctx context.Context, msg jetstream.Msg) context.Context {
	return context.WithValue(ctx, carriedKey{}, msg.Headers())
}

// requestID returns the request ID ctx carries, or "".
func requestID(ctx context.Context) string {
	h, _ := ctx.Value(carriedKey{}).(nats.Header)
	return h.Get(events.HeaderRequestID)
}

// passOn sets what ctx carries on msg as it came, so a task published
// again (a retry's schedule) keeps its request ID and continues its trace
// from the same parent.
func passOn(ctx context.Context, msg *nats.Msg) {
	h, _ := ctx.Value(carriedKey{}).(nats.Header)
	if len(h) == 0 {
		return
	}
	if msg.Header == nil {
		msg.Header = nats.Header{}
	}
	if id := h.Get(events.HeaderRequestID); id != "" {
		msg.Header.Set(events.HeaderRequestID, id)
	}
	tracing.Pass(msg.Header, h)
}
