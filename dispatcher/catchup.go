package dispatcher

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/tracing"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
)

// catchUpSkew is how far before a new subscription's creation a catch-up
// starts reading, for the clocks of the process that made it and of the
// stream.
const catchUpSkew = time.Minute

// catchUps runs the catch-ups of new subscriptions until stopped.
type catchUps struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (c *catchUps) start() { c.ctx, c.cancel = context.WithCancel(context.Background()) }

// stop ends the catch-ups under way and waits for them.
func (c *catchUps) stop() {
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
}

// catchUpLater starts the catch-up of sub, just seen by the watch: fan-out
// reads the watched copy of the subscriptions, so the events that happened
// after sub was made but were fanned out before the watch brought it went
// to everyone but sub.
func (d *Dispatcher) catchUpLater(sub webhook.Subscription) {
	d.catchUps.wg.Go(func() {
		ctx, cancel := context.WithTimeout(d.catchUps.ctx, time.Minute)
		defer cancel()
		n, err := d.fanOutSince(ctx, sub)
		switch {
		case err != nil && !errors.Is(err, context.Canceled):
			d.cfg.Logger.Warn("a new subscription's earliest events not fanned out", "subscription", sub.ID, "err", err)
		case n > 0:
			d.cfg.Logger.Info("a new subscription's earliest events fanned out", "subscription", sub.ID, "deliveries", n)
		}
	})
}

// fanOutSince fans out to sub every event stored on INVOICES since a
// little before sub was created that it wants, and returns how many tasks
// that asked for: a task published before is not published again. It
// fails when INVOICES cannot be read or a task published.
func (d *Dispatcher) fanOutSince(ctx context.Context, sub webhook.Subscription) (int, error) {
	start := sub.CreatedAt.Add(-catchUpSkew)
	cons, err := d.js.OrderedConsumer(ctx, events.StreamInvoices, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.SubjectPrefix + ".>"}, DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &start})
	if err != nil {
		return 0, err
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for left := info.NumPending; left > 0; {
		batch, err := cons.Fetch(int(min(left, 256)), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return n, err
		}
		got := 0
		for msg := range batch.Messages() {
			got++
			sent, err := d.fanOutTo(ctx, sub, msg)
			if err != nil {
				return n, err
			}
			n += sent
		}
		if err := batch.Error(); err != nil || got == 0 {
			return n, err
		}
		left -= uint64(got)
	}
	return n, nil
}

// fanOutTo publishes the task of delivering msg's event to sub when sub
// wants it, and returns how many it published (0 or 1); a message that is
// no event is passed over.
func (d *Dispatcher) fanOutTo(ctx context.Context, sub webhook.Subscription, msg jetstream.Msg) (int, error) {
	ev, err := events.DecodeMsg(msg.Subject(), msg.Data())
	if err != nil {
		return 0, nil
	}
	eventType := webhook.EventTypeFor(ev.Type)
	if eventType == "" || !sub.WantsAt(ev.Account(), eventType, ev.Time) {
		return 0, nil
	}
	task, err := webhook.NewTask(ev, eventType, sub.ID)
	if err == nil {
		// The task carries on the event's request ID and trace, as one
		// fanned out in order does.
		tctx, span := tracing.Consume(withCarried(ctx, msg), d.cfg.Tracer, "fan-out", msg.Headers())
		if span := tracing.Recording(tctx); span != nil {
			span.SetAttributes(append(fanOutAttributes(ev, eventType), attribute.Bool("invoiced.catch_up", true))...)
		}
		err = d.enqueue(tctx, task)
		tracing.End(span, err)
	}
	if err != nil {
		return 0, err
	}
	return 1, nil
}
