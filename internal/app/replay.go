package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/broker"
	"github.com/invoiced/invoiced/internal/config"
	"github.com/invoiced/invoiced/internal/progress"
	"github.com/invoiced/invoiced/internal/webhook"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// replayer re-sends the webhooks of stored events: for each event and each
// subscription that wants it, a manual task, as a retry through the API
// publishes; the dispatcher makes the attempt and records it.
type replayer struct {
	cfg        config.Replay
	js         jetstream.JetStream
	deliveries jetstream.KeyValue
	subs       []webhook.Subscription

	scanned, queued atomic.Int64
}

// runReplay runs invoiced replay and prints its summary to stdout.
func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg, err := config.ParseReplay(args, getenv, time.Now(), stderr)
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	nc, err := broker.Connect(cfg.NATSURL, nil, "invoiced-replay", nil, brokerAuth(cfg.NATSAuth))
	if err != nil {
		return err
	}
	defer nc.Close()
	r, err := newReplayer(ctx, nc, cfg)
	if err != nil {
		return err
	}
	return r.run(ctx, stdout, stderr)
}

// newReplayer reads the subscriptions replay sends to. It fails when NATS
// or the buckets cannot be read, or --subscription names none.
func newReplayer(ctx context.Context, nc *nats.Conn, cfg config.Replay) (*replayer, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	r := &replayer{cfg: cfg, js: js}
	if r.deliveries, err = js.KeyValue(ctx, webhook.BucketDeliveries); err != nil {
		return nil, fmt.Errorf("bucket %s: %w", webhook.BucketDeliveries, err)
	}
	if r.subs, err = readSubscriptions(ctx, js, cfg.Subscription); err != nil {
		return nil, err
	}
	return r, nil
}

// readSubscriptions returns every enabled subscription, or only the one
// named by id.
func readSubscriptions(ctx context.Context, js jetstream.JetStream, id string) ([]webhook.Subscription, error) {
	kv, err := js.KeyValue(ctx, webhook.BucketSubscriptions)
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", webhook.BucketSubscriptions, err)
	}
	keys := []string{id}
	if id == "" {
		if keys, err = kv.Keys(ctx); err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
			return nil, fmt.Errorf("subscriptions: %w", err)
		}
	}
	var subs []webhook.Subscription
	for _, key := range keys {
		entry, err := kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound) && id != "":
			return nil, fmt.Errorf("--subscription: no subscription %s", id)
		case errors.Is(err, jetstream.ErrKeyNotFound):
			continue // deleted meanwhile
		case err != nil:
			return nil, fmt.Errorf("subscription %s: %w", key, err)
		}
		var sub webhook.Subscription
		if err := json.Unmarshal(entry.Value(), &sub); err != nil {
			return nil, fmt.Errorf("subscription %s: %w", key, err)
		}
		subs = append(subs, sub)
	}
	return subs, nil
}

// run scans the stream from --since to what it held at the start, with a
// progress bar on a terminal, and prints the summary.
func (r *replayer) run(ctx context.Context, stdout, stderr io.Writer) error {
	cons, total, err := r.consumer(ctx)
	if err != nil {
		return err
	}
	line := progress.Start(stderr, 200*time.Millisecond, func() string {
		return fmt.Sprintf("replay %s %d of %d events, %d webhooks", progress.Bar(int(r.scanned.Load()), total, 30),
			r.scanned.Load(), total, r.queued.Load())
	})
	err = r.scan(ctx, cons, total)
	line.Stop()
	verb := "queued"
	if r.cfg.DryRun {
		verb = "would queue (dry run)"
	}
	fmt.Fprintf(stdout, "replay: %d events since %s, %s %d webhooks to %d subscriptions\n",
		r.scanned.Load(), r.cfg.Since.UTC().Format(time.RFC3339), verb, r.queued.Load(), len(r.subs))
	return err
}

// consumer returns an ordered consumer of the events stored since --since
// and how many there are.
func (r *replayer) consumer(ctx context.Context) (jetstream.Consumer, int, error) {
	since := r.cfg.Since
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &since}
	cons, err := r.js.OrderedConsumer(ctx, events.StreamInvoices, cfg)
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", events.StreamInvoices, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", events.StreamInvoices, err)
	}
	return cons, int(info.NumPending), nil
}

// scan replays total events from cons.
func (r *replayer) scan(ctx context.Context, cons jetstream.Consumer, total int) error {
	for int(r.scanned.Load()) < total {
		batch, err := cons.Fetch(min(total-int(r.scanned.Load()), 256), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return fmt.Errorf("read %s: %w", events.StreamInvoices, err)
		}
		for msg := range batch.Messages() {
			if err := r.event(ctx, msg); err != nil {
				return err
			}
			r.scanned.Add(1)
		}
		if err := batch.Error(); err != nil {
			return fmt.Errorf("read %s: %w", events.StreamInvoices, err)
		}
	}
	return nil
}

// event queues one manual task per subscription that wants msg's event.
func (r *replayer) event(ctx context.Context, msg jetstream.Msg) error {
	ev, err := events.DecodeMsg(msg.Subject(), msg.Data())
	if err != nil {
		return fmt.Errorf("event %s: %w", msg.Subject(), err)
	}
	eventType := webhook.EventTypeFor(ev.Type)
	if r.cfg.EventType != "" && eventType != r.cfg.EventType {
		return nil
	}
	for _, sub := range r.subs {
		if !sub.Wants(eventType) {
			continue
		}
		if !r.cfg.DryRun {
			if err := r.enqueue(ctx, ev, eventType, sub.ID); err != nil {
				return err
			}
		}
		r.queued.Add(1)
	}
	return nil
}

// enqueue publishes the manual task for ev's delivery to subID: from its
// record when it has one, else from the event. Its message ID is a manual
// retry's, so a replay repeated before the attempt sends one.
func (r *replayer) enqueue(ctx context.Context, ev events.Event, eventType, subID string) error {
	d, err := r.delivery(ctx, ev, eventType, subID)
	if err != nil {
		return err
	}
	data, err := json.Marshal(d.ManualTask())
	if err != nil {
		return err
	}
	msg := &nats.Msg{Subject: webhook.ManualTaskSubject(subID, d.ID), Data: data}
	_, err = r.js.PublishMsg(ctx, msg, jetstream.WithMsgID(d.ManualMsgID()), jetstream.WithExpectStream(webhook.StreamWebhooks))
	if err != nil {
		return fmt.Errorf("queue delivery %s: %w", d.ID, err)
	}
	return nil
}

// delivery returns the record of ev's delivery to subID, or one made from
// the event when none is stored.
func (r *replayer) delivery(ctx context.Context, ev events.Event, eventType, subID string) (webhook.Delivery, error) {
	id := webhook.DeliveryID(ev.ID, subID)
	entry, err := r.deliveries.Get(ctx, id)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		task, err := webhook.NewTask(ev, eventType, subID)
		if err != nil {
			return webhook.Delivery{}, err
		}
		return webhook.Delivery{ID: id, SubscriptionID: subID, EventID: ev.ID, EventType: eventType,
			InvoiceID: ev.Invoice.ID, Body: task.Body}, nil
	case err != nil:
		return webhook.Delivery{}, fmt.Errorf("delivery %s: %w", id, err)
	}
	var d webhook.Delivery
	if err := json.Unmarshal(entry.Value(), &d); err != nil {
		return webhook.Delivery{}, fmt.Errorf("delivery %s: %w", id, err)
	}
	return d, nil
}
