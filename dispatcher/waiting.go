package dispatcher

import (
	"context"
	"errors"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/nats-io/nats.go/jetstream"
)

// StreamReader reads WEBHOOKS and its consumers; jetstream.JetStream is
// one.
type StreamReader interface {
	Consumer(ctx context.Context, stream, name string) (jetstream.Consumer, error)
	Stream(ctx context.Context, name string) (jetstream.Stream, error)
}

// OldestWaitingTask returns when the first task past the delivery
// consumer's ack floor was stored: the oldest delivery not attempted yet,
// which has no record. It returns false when there is none or the
// consumer does not exist yet, and fails when WEBHOOKS cannot be read.
func OldestWaitingTask(ctx context.Context, js StreamReader) (time.Time, bool, error) {
	cons, err := js.Consumer(ctx, webhook.StreamWebhooks, DeliveryConsumer)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return time.Time{}, false, err
	}
	stream, err := js.Stream(ctx, webhook.StreamWebhooks)
	if err != nil {
		return time.Time{}, false, err
	}
	msg, err := stream.GetMsg(ctx, info.AckFloor.Stream+1, jetstream.WithGetMsgSubject(webhook.FirstTasks))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	return msg.Time, true, nil
}
