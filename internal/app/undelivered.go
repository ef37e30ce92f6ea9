package app

import (
	"context"
	"errors"
	"time"

	"github.com/invoiced/invoiced/dispatcher"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/nats-io/nats.go/jetstream"
)

// oldestUndelivered returns when the oldest delivery that is neither
// delivered nor dead was made: a live one in the read model, or a first
// task the dispatchers have not acknowledged, which has no record yet. It
// returns false when there is neither, and fails when either cannot be
// read.
func (s *Service) oldestUndelivered(ctx context.Context) (time.Time, bool, error) {
	oldest, ok, err := s.model.OldestUndelivered(ctx)
	if err != nil {
		return time.Time{}, false, err
	}
	task, waiting, err := s.oldestWaitingTask(ctx)
	if err != nil {
		return time.Time{}, false, err
	}
	if waiting && (!ok || task.Before(oldest)) {
		return task, true, nil
	}
	return oldest, ok, nil
}

// oldestWaitingTask returns when the first task past the delivery
// consumer's ack floor was stored, and false when there is none.
func (s *Service) oldestWaitingTask(ctx context.Context) (time.Time, bool, error) {
	cons, err := s.js.Consumer(ctx, webhook.StreamWebhooks, dispatcher.DeliveryConsumer)
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
	stream, err := s.js.Stream(ctx, webhook.StreamWebhooks)
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
