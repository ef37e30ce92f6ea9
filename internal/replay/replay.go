// Package replay re-sends the webhooks of stored events: for each event the
// history holds since a time and each subscription that wants it, a manual
// task, which the dispatcher attempts and records like a retry asked for
// through the API.
package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/history"
	"github.com/invoiced/invoiced/internal/progress"
	"github.com/invoiced/invoiced/internal/webhook"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Options selects what Run re-sends.
type Options struct {
	// Since is the oldest event re-sent.
	Since time.Time
	// Subscription, when set, is the only subscription sent to.
	Subscription string
	// EventType, when set, is the only webhook event type re-sent.
	EventType string
	// DryRun counts what would be queued and queues nothing.
	DryRun bool
}

// replayer re-sends the webhooks of stored events: for each event and each
// subscription that wants it, a manual task, as a retry through the API
// publishes; the dispatcher makes the attempt and records it.
type replayer struct {
	opts       Options
	js         jetstream.JetStream
	deliveries jetstream.KeyValue
	done       webhook.Settler // reads settled records not yet in the history
	subs       []webhook.Subscription
	settled    map[string]webhook.Delivery // settled records since --since, by delivery ID

	scanned, queued atomic.Int64
}

// Run re-sends the webhooks of the events the history holds since
// opts.Since, as opts selects, and prints a summary to stdout and progress
// to stderr. It fails when NATS, the buckets or the history cannot be read,
// opts.Subscription names no subscription, or a task cannot be queued.
func Run(ctx context.Context, js jetstream.JetStream, opts Options, stdout, stderr io.Writer) error {
	r, err := newReplayer(ctx, js, opts)
	if err != nil {
		return err
	}
	return r.run(ctx, stdout, stderr)
}

// newReplayer reads the subscriptions replay sends to. It fails when NATS
// or the buckets cannot be read, or opts.Subscription names none.
func newReplayer(ctx context.Context, js jetstream.JetStream, opts Options) (*replayer, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	r := &replayer{opts: opts, js: js}
	var err error
	if r.deliveries, err = js.KeyValue(ctx, webhook.BucketDeliveries); err != nil {
		return nil, fmt.Errorf("bucket %s: %w", webhook.BucketDeliveries, err)
	}
	if r.done.Tasks, err = js.Stream(ctx, webhook.StreamWebhooks); err != nil {
		return nil, fmt.Errorf("stream %s: %w", webhook.StreamWebhooks, err)
	}
	if r.subs, err = readSubscriptions(ctx, js, opts.Subscription); err != nil {
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

// run scans the history from --since to what it held at the start, with a
// progress bar on a terminal, and prints the summary.
func (r *replayer) run(ctx context.Context, stdout, stderr io.Writer) error {
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := history.AwaitInvoices(wait, r.js)
	cancel()
	if err != nil {
		return err
	}
	if err := r.readSettled(ctx); err != nil {
		return err
	}
	stored, err := history.NewReader(ctx, r.js, history.Invoices, r.opts.Since)
	if err != nil {
		return err
	}
	total := stored.Total()
	line := progress.Start(stderr, 200*time.Millisecond, func() string {
		return fmt.Sprintf("replay %s %d of %d events, %d webhooks", progress.Bar(int(r.scanned.Load()), total, 30),
			r.scanned.Load(), total, r.queued.Load())
	})
	err = stored.Each(ctx, func(m history.Message) error {
		r.scanned.Add(1)
		return r.event(ctx, m)
	})
	line.Stop()
	verb := "queued"
	if r.opts.DryRun {
		verb = "would queue (dry run)"
	}
	fmt.Fprintf(stdout, "replay: %d events since %s, %s %d webhooks to %d subscriptions\n",
		r.scanned.Load(), r.opts.Since.UTC().Format(time.RFC3339), verb, r.queued.Load(), len(r.subs))
	return err
}

// readSettled reads the settled delivery records the history holds since
// --since, the newest version of each: a webhook replayed for an event
// whose delivery has settled carries its record, so the attempt is added
// to its log.
func (r *replayer) readSettled(ctx context.Context) error {
	records, err := history.NewReader(ctx, r.js, history.Deliveries, r.opts.Since)
	if err != nil {
		return err
	}
	r.settled = map[string]webhook.Delivery{}
	return records.Each(ctx, func(m history.Message) error {
		var d webhook.Delivery
		if json.Unmarshal(m.Data, &d) != nil {
			return nil // not a record: nothing to carry
		}
		if old, ok := r.settled[d.ID]; !ok || d.Newer(old) {
			r.settled[d.ID] = d
		}
		return nil
	})
}

// event queues one manual task per subscription that wants m's event.
func (r *replayer) event(ctx context.Context, m history.Message) error {
	ev, err := m.Event()
	if err != nil {
		return fmt.Errorf("event %s: %w", m.Origin.Subject, err)
	}
	eventType := webhook.EventTypeFor(ev.Type)
	if r.opts.EventType != "" && eventType != r.opts.EventType {
		return nil
	}
	for _, sub := range r.subs {
		if !sub.Wants(eventType) {
			continue
		}
		if !r.opts.DryRun {
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

// delivery returns the record of ev's delivery to subID: live, settled
// since the history was read, settled before, or one made from the event
// when none is stored.
func (r *replayer) delivery(ctx context.Context, ev events.Event, eventType, subID string) (webhook.Delivery, error) {
	id := webhook.DeliveryID(ev.ID, subID)
	entry, err := r.deliveries.Get(ctx, id)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		if d, ok, err := r.done.Settled(ctx, subID, id); err != nil || ok {
			return d, err
		}
		if d, ok := r.settled[id]; ok {
			return d, nil
		}
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
