package consume

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"
)

// Ensurer creates, updates and reads durable consumers;
// jetstream.JetStream is one.
type Ensurer interface {
	CreateOrUpdateConsumer(ctx context.Context, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error)
	Consumer(ctx context.Context, stream, name string) (jetstream.Consumer, error)
}

// Ensure creates or updates the durable consumer cfg on stream, and returns
// it. It fails as JetStream refuses, or when the consumer does not end up
// with cfg's filter subjects.
//
// nats-server 2.15.2 applies the change of a consumer recovered at its
// start from one filter subject to several, yet answers with the filter
// it had, which nats.go reports as
// jetstream.ErrConsumerMultipleFilterSubjectsNotSupported: the consumer is
// then read back, and its filters are what counts.
func Ensure(ctx context.Context, js Ensurer, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	cons, err := js.CreateOrUpdateConsumer(ctx, stream, cfg)
	if !errors.Is(err, jetstream.ErrConsumerMultipleFilterSubjectsNotSupported) {
		return cons, err
	}
	cons, rerr := js.Consumer(ctx, stream, cfg.Durable)
	if rerr != nil {
		return nil, fmt.Errorf("%w (%w)", err, rerr)
	}
	if got := cons.CachedInfo().Config; got.FilterSubject != "" || !slices.Equal(got.FilterSubjects, cfg.FilterSubjects) {
		return nil, fmt.Errorf("%w: consumer %s filters %q %q", err, cfg.Durable, got.FilterSubject, got.FilterSubjects)
	}
	return cons, nil
}
