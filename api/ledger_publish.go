package api

import (
	"context"
	"errors"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/infra/tracing"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// publishTraced publishes msg, holding ev, as publish does, in a span of
// its own whose trace context msg carries on to the processor and the
// dispatcher.
func (l *Ledger) publishTraced(ctx context.Context, ev events.Event, msg *nats.Msg) (*jetstream.PubAck, bool, error) {
	ctx, span := tracing.Publish(ctx, ev, msg)
	ack, retried, err := l.publish(ctx, msg)
	tracing.End(span, err)
	return ack, retried, err
}

// publish publishes msg, trying again after an attempt that got no answer
// within l.attempt, for as long as ctx allows; it reports whether it tried
// more than once. Trying again is safe: the message ID and the expected
// subject sequence let a message be stored once only, and an attempt that
// finds it stored is answered as a duplicate.
func (l *Ledger) publish(ctx context.Context, msg *nats.Msg) (*jetstream.PubAck, bool, error) {
	pause := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, l.attempt)
		ack, err := l.pub.PublishMsg(actx, msg)
		cancel()
		if err == nil || ctx.Err() != nil || !unanswered(err) {
			return ack, attempt > 1, err
		}
		select {
		case <-ctx.Done():
			return nil, true, err
		case <-time.After(pause):
			pause = min(2*pause, time.Second)
		}
	}
}

// unanswered reports whether a publish failed for want of an answer, as it
// does while a stream elects a new leader, rather than for a reason a retry
// cannot change.
func unanswered(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse)
}
