package dispatcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/nats-io/nats.go/jetstream"
)

// Ordered delivery per invoice. At a subscription ordered per invoice, an
// invoice's outcome is attempted only once the delivery of its
// invoice.created to that subscription has settled, delivered or dead.
// Until then the outcome's task is held: put off in JetStream, without
// counting an attempt, to look again later. The earlier delivery's
// settlement releases it at once; the look again is what releases it when
// a crash came in between. Every fact the rule reads is stored, so it holds
// through any restart.

// minHold is how long a task is first held when the delivery it waits for
// has no attempt scheduled; each hold doubles it, up to the attempt
// timeout.
const minHold = 100 * time.Millisecond

// heldBehind returns the delivery task must wait for at sub, and when to
// look again, or "" when it may be attempted now. It fails when what it
// reads cannot be read.
func (d *Dispatcher) heldBehind(ctx context.Context, sub webhook.Subscription, task webhook.Task) (string, time.Time, error) {
	if !sub.OrderedPerInvoice() || !slices.Contains(sub.EventTypes, webhook.EventInvoiceCreated) {
		return "", time.Time{}, nil
	}
	earlier, ok := task.Awaits()
	if !ok {
		return "", time.Time{}, nil
	}
	entry, err := d.deliveries.Get(ctx, earlier)
	switch {
	case err == nil:
		var rec webhook.Delivery
		if err := json.Unmarshal(entry.Value(), &rec); err != nil {
			return "", time.Time{}, nil // unreadable: waiting for it could be for ever
		}
		if rec, err = d.settledLeftLive(ctx, rec); err != nil {
			return "", time.Time{}, err
		}
		if rec.Settled() {
			// Moved out again if it was left behind; the sweep would at
			// the next start.
			_ = d.ending.Settler.Finish(ctx, rec, entry.Revision())
			return "", time.Time{}, nil
		}
		return earlier, d.lookAgain(task, rec.NextAttemptAt), nil
	case !errors.Is(err, jetstream.ErrKeyNotFound):
		return "", time.Time{}, fmt.Errorf("read delivery %s: %w", earlier, err)
	}
	_, settled, err := d.ending.Settler.Settled(ctx, sub.ID, earlier)
	if settled || errors.Is(err, webhook.ErrUndecodable) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, err
	}
	due, err := d.earlierDue(ctx, sub, task, earlier)
	if err != nil || !due {
		return "", time.Time{}, err
	}
	return earlier, d.lookAgain(task, nil), nil
}

// earlierDue reports whether delivery earlier, the invoice.created of
// task's invoice to sub, may still come: its task is on WEBHOOKS, or its
// event is on INVOICES and not yet fanned out. Otherwise it was never due
// (sub did not want it then), or it settled long enough ago for compaction
// to have removed its task and settled record. It fails when a stream or
// the fan-out consumer cannot be read.
func (d *Dispatcher) earlierDue(ctx context.Context, sub webhook.Subscription, task webhook.Task, earlier string) (bool, error) {
	_, err := d.ending.Settler.Tasks.GetLastMsgForSubject(ctx, webhook.TaskSubject(sub.ID, earlier))
	switch {
	case err == nil:
		return true, nil
	case !errors.Is(err, jetstream.ErrMsgNotFound):
		return false, fmt.Errorf("read task of delivery %s: %w", earlier, err)
	}
	msg, err := d.invoices.GetLastMsgForSubject(ctx, events.Subject(task.Account, task.InvoiceID, events.InvoiceRequested))
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read invoice.created of %s: %w", task.InvoiceID, err)
	}
	cons, err := d.js.Consumer(ctx, events.StreamInvoices, FanOutConsumer)
	if err != nil {
		return false, fmt.Errorf("read consumer %s: %w", FanOutConsumer, err)
	}
	return cons.CachedInfo().AckFloor.Stream < msg.Sequence, nil
}

// lookAgain returns when a held task looks again at the delivery it waits
// for: once that delivery's next attempt, due at next, has had its time, or
// else after a wait that doubles with each hold.
func (d *Dispatcher) lookAgain(task webhook.Task, next *time.Time) time.Time {
	now := d.cfg.Now()
	if next != nil && next.After(now) {
		return next.Add(d.cfg.Timeout)
	}
	return now.Add(min(minHold<<min(task.Holds, 16), d.cfg.Timeout))
}

// hold puts task off until at, without counting an attempt, as waiting
// for delivery earlier at sub. A delivery with no record yet gets its
// pending record first, saying what it waits for, so it shows in the log.
// Should earlier settle while the hold was being written, too soon for
// its release to find it, the hold is released here.
func (d *Dispatcher) hold(ctx context.Context, sub webhook.Subscription, task webhook.Task, stored bool, earlier string, at time.Time) error {
	if !stored {
		reason := "waiting for delivery " + earlier + ", of the invoice's invoice.created, to be delivered or dead"
		if err := d.recordPending(ctx, task, reason); err != nil {
			return err
		}
	}
	task.HeldBy, task.Holds = earlier, task.Holds+1
	if err := d.fireAt(ctx, task, task.Attempt, at); err != nil {
		return err
	}
	if still, _, err := d.heldBehind(ctx, sub, task); err == nil && still == "" {
		return d.fireAt(ctx, task, task.Attempt, d.cfg.Now())
	}
	return nil
}

// releaseNext fires at once the task held waiting for task's delivery,
// just settled, if there is one; otherwise that task would wait for its
// next look. A failure is only logged: the look comes anyway.
func (d *Dispatcher) releaseNext(ctx context.Context, task webhook.Task) {
	next, ok := task.AwaitedBy()
	if !ok {
		return
	}
	msg, err := d.ending.Settler.Tasks.GetLastMsgForSubject(ctx, webhook.ScheduleSubject(task.SubscriptionID, next))
	if err != nil {
		if !errors.Is(err, jetstream.ErrMsgNotFound) {
			d.cfg.Logger.Warn("held delivery not released", "delivery", next, "err", err)
		}
		return
	}
	var held webhook.Task
	if json.Unmarshal(msg.Data, &held) != nil || held.HeldBy != task.DeliveryID {
		return // a retry's schedule, or nothing of ours: left as it is
	}
	// Should the held task fire meanwhile, this fires it a second time,
	// which finds its attempt made or its delivery settled.
	if err := d.fireAt(ctx, held, held.Attempt, d.cfg.Now()); err != nil {
		d.cfg.Logger.Warn("held delivery not released", "delivery", next, "err", err)
	}
}

// finishAfterCrash settles rec, read at revision, whose settlement a crash
// interrupted, and releases what waits for it: the crash may have come
// before the release too.
func (d *Dispatcher) finishAfterCrash(ctx context.Context, task webhook.Task, rec webhook.Delivery, revision uint64) error {
	if err := d.ending.Settler.Finish(ctx, rec, revision); err != nil {
		return err
	}
	if sub, ok := d.subs.get(task.SubscriptionID); ok && sub.OrderedPerInvoice() {
		d.releaseNext(ctx, task)
	}
	return nil
}
