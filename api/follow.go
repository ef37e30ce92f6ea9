package api

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/invoiced/invoiced/events"
	"github.com/nats-io/nats.go/jetstream"
)

// OrderedConsumers makes ordered consumers; jetstream.JetStream is one.
type OrderedConsumers interface {
	OrderedConsumer(ctx context.Context, stream string, cfg jetstream.OrderedConsumerConfig) (jetstream.Consumer, error)
}

// Follow applies the INVOICES stream to the index, from its first event and
// then as events arrive, until the returned stop is called. An ordered
// consumer recreates itself after gaps and reconnects, so the index never
// misses an event. Follow fails when the consumer cannot be made.
func (x *Index) Follow(ctx context.Context, js OrderedConsumers, log *slog.Logger) (stop func(), err error) {
	cons, err := js.OrderedConsumer(ctx, events.StreamInvoices, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.AllSubjects},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("follow %s: %w", events.StreamInvoices, err)
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		md, err := msg.Metadata()
		if err != nil {
			log.Warn("index: message without metadata", "subject", msg.Subject(), "err", err)
			return
		}
		if err := x.Apply(msg.Subject(), md.Sequence.Stream, msg.Data()); err != nil {
			log.Warn("index: event skipped", "err", err)
		}
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		log.Debug("index: consume", "err", err)
	}))
	if err != nil {
		return nil, fmt.Errorf("follow %s: %w", events.StreamInvoices, err)
	}
	return cc.Stop, nil
}
