package webhook

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/infra/jserr"
	"github.com/invoiced/invoiced/internal/infra/tracing"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TaskPublisher publishes one message to JetStream; jetstream.JetStream
// is one.
type TaskPublisher interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

// PublishTask publishes task, a delivery's first, to WEBHOOKS once: its
// delivery ID is its Nats-Msg-Id and its subject must be empty, so a
// repeat stores nothing and is no error. requestID, unless empty, travels
// with it. It fails as the publish does.
func PublishTask(ctx context.Context, pub TaskPublisher, task Task, requestID string) error {
	msg, err := taskMsg(ctx, TaskSubject(task.SubscriptionID, task.DeliveryID), task, task.DeliveryID, requestID)
	if err != nil {
		return err
	}
	// Conditions travel as headers, so tasks can share a batch.
	msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, "0")
	if _, err := pub.PublishMsg(ctx, msg); err != nil && !jserr.IsWrongLastSequence(err) {
		return fmt.Errorf("publish task of delivery %s: %w", task.DeliveryID, err)
	}
	return nil
}

// PublishManualTask publishes the task that asks for one more attempt at d
// now. Its Nats-Msg-Id names d's attempt count (ManualMsgID), so requests
// repeated before that attempt is recorded store one task. requestID,
// unless empty, travels with it. It fails as the publish does.
func PublishManualTask(ctx context.Context, pub TaskPublisher, d Delivery, requestID string) error {
	msg, err := taskMsg(ctx, ManualTaskSubject(d.SubscriptionID, d.ID), d.ManualTask(), d.ManualMsgID(), requestID)
	if err != nil {
		return err
	}
	if _, err := pub.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("publish manual task of delivery %s: %w", d.ID, err)
	}
	return nil
}

// taskMsg returns task as a message to subject on WEBHOOKS, with msgID,
// requestID and the trace context of ctx's span, which its attempts
// continue.
func taskMsg(ctx context.Context, subject string, task Task, msgID, requestID string) (*nats.Msg, error) {
	data, err := json.Marshal(task)
	if err != nil {
		return nil, fmt.Errorf("encode task of delivery %s: %w", task.DeliveryID, err)
	}
	msg := nats.NewMsg(subject)
	msg.Data = data
	msg.Header.Set(jetstream.MsgIDHeader, msgID)
	msg.Header.Set(jetstream.ExpectedStreamHeader, StreamWebhooks)
	if requestID != "" {
		msg.Header.Set(events.HeaderRequestID, requestID)
	}
	tracing.Inject(ctx, msg.Header)
	return msg, nil
}
