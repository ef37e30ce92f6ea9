package dispatcher

import (
	"context"

	"github.com/invoiced/invoiced/events"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type requestIDKey struct{}

// withRequestID returns ctx carrying the request ID msg carries, if any.
func withRequestID(ctx context.Context, msg jetstream.Msg) context.Context {
	if id := msg.Headers().Get(events.HeaderRequestID); id != "" {
		return context.WithValue(ctx, requestIDKey{}, id)
	}
	return ctx
}

// requestID returns the request ID ctx carries, or "".
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// passRequestID sets the request ID ctx carries on msg, so the messages a
// handler publishes carry it on.
func passRequestID(ctx context.Context, msg *nats.Msg) {
	if id := requestID(ctx); id != "" {
		if msg.Header == nil {
			msg.Header = nats.Header{}
		}
		msg.Header.Set(events.HeaderRequestID, id)
	}
}
