// Package replay re-sends the webhooks of stored events: for each event the
// history holds since a time and each subscription that wants it and
// existed when it happened, a manual task, which the dispatcher attempts
// and records like a retry asked for through the API.
package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/history"
	"github.com/invoiced/invoiced/internal/infra/progress"
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
	skips      *history.Skips              // stored messages passed over as none of ours

	scanned, queued atomic.Int64
}

// Run re-sends the webhooks of the events the history holds since
// opts.Since, as opts selects, and prints a summary to stdout and progress
// to stderr, where it also logs, once each, the stored messages it passes
// over as not valid events or records. It fails when NATS, the buckets or
// the history cannot be read, opts.Subscription names no subscription or
// one that cannot be read, or a task cannot be queued.
func Run(ctx context.Context, js jetstream.JetStream, opts Options, stdout, stderr io.Writer) error {
	skips := history.NewSkips("replay", slog.New(slog.NewTextHandler(stderr, nil)))
	r, err := newReplayer(ctx, js, opts, skips)
	if err != nil {
		return err
	}
	return r.run(ctx, stdout, stderr)
}

// newReplayer reads the subscriptions replay sends to, passing over to
// skips those that cannot be read. It fails when NATS or the buckets cannot
// be read, or opts.Subscription names none or one that cannot be read.
func newReplayer(ctx context.Context, js jetstream.JetStream, opts Options, skips *history.Skips) (*replayer, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	r := &replayer{opts: opts, js: js, skips: skips}
	var err error
	if r.deliveries, err = js.KeyValue(ctx, webhook.BucketDeliveries); err != nil {
		return nil, fmt.Errorf("bucket %s: %w", webhook.BucketDeliveries, err)
	}
	if r.done.Tasks, err = js.Stream(ctx, webhook.StreamWebhooks); err != nil {
		return nil, fmt.Errorf("stream %s: %w", webhook.StreamWebhooks, err)
	}
	if r.subs, err = readSubscriptions(ctx, js, opts.Subscription, skips); err != nil {
		return nil, err
	}
	return r, nil
}

// readSubscriptions returns every enabled subscription, or only the one
// named by id; one that cannot be read is passed over to skips, unless it
// is the one named.
func readSubscriptions(ctx context.Context, js jetstream.JetStream, id string, skips *history.Skips) ([]webhook.Subscription, error) {
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
		err = json.Unmarshal(entry.Value(), &sub)
		switch {
		case err != nil && id != "":
			return nil, fmt.Errorf("subscription %s: %w", key, err)
		case err != nil:
			skips.Skip(kvSkip(entry, err))
			continue
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
	if n := r.skips.Count(); n > 0 {
		fmt.Fprintf(stdout, "replay: passed over %d stored messages that are not valid events or records (logged on stderr)\n", n)
	}
	return err
}

// event queues one manual task per subscription that wants m's event: of
// its invoice's account, and created by the time it happened, as fan-out
// chooses them.
func (r *replayer) event(ctx context.Context, m history.Message) error {
	ev, err := m.Event()
	if err != nil {
		r.skips.Skip(history.Skipped{Stream: m.Origin.Stream, Seq: m.Origin.Seq, Subject: m.Origin.Subject, Err: err})
		return nil
	}
	eventType := webhook.EventTypeFor(ev.Type)
	if r.opts.EventType != "" && eventType != r.opts.EventType {
		return nil
	}
	for _, sub := range r.subs {
		if !sub.WantsAt(ev.Account(), eventType, ev.Time) {
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
	return webhook.PublishManualTask(ctx, r.js, d, "")
}
