package dispatcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/invoiced/invoiced/internal/consume"
	"github.com/invoiced/invoiced/internal/webhook"
	"github.com/nats-io/nats.go/jetstream"
)

// deliver handles one task: it makes an attempt unless the delivery is
// settled or the task is stale, records the attempt, and schedules the next
// scheduled attempt in JetStream when one is due later.
func (d *Dispatcher) deliver(ctx context.Context, msg jetstream.Msg) error {
	subID, _, manual, err := webhook.ParseTaskSubject(msg.Subject())
	if err != nil {
		return consume.Permanent(err)
	}
	var task webhook.Task
	if err := json.Unmarshal(msg.Data(), &task); err != nil || task.DeliveryID == "" {
		return consume.Permanent(fmt.Errorf("task on %s: %w", msg.Subject(), err))
	}
	rec, _, err := d.loadDelivery(ctx, task)
	if err != nil {
		return err
	}
	switch {
	case rec.Status == webhook.DeliveryDelivered, rec.Status == webhook.DeliveryDead && !manual:
		return nil
	case manual && len(rec.Attempts) > task.AttemptsBefore:
		return nil // an attempt was made since this one was asked for
	case !manual && rec.ScheduledAttempts() >= task.Attempt:
		return d.ensureScheduled(ctx, task, rec) // stale: made already
	}
	sub, ok := d.subs.get(subID)
	if !ok || sub.Status != webhook.StatusEnabled {
		return d.endForSubscription(ctx, task, ok)
	}
	if !d.inFlight.acquire(subID) {
		return d.postpone(ctx, task)
	}
	res := d.send(ctx, sub, task, len(rec.Attempts)+1)
	d.inFlight.release(subID)
	next, err := d.record(ctx, task, res, manual)
	if err != nil {
		return err
	}
	d.trackHealth(ctx, sub, res)
	if next == nil {
		return nil
	}
	return d.schedule(ctx, task, rec.ScheduledAttempts()+2, *next)
}

// loadDelivery reads the delivery's record, creating it from the task if
// fan-out did not get to.
func (d *Dispatcher) loadDelivery(ctx context.Context, task webhook.Task) (webhook.Delivery, uint64, error) {
	entry, err := d.deliveries.Get(ctx, task.DeliveryID)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		if err := d.recordPending(ctx, task); err != nil {
			return webhook.Delivery{}, 0, err
		}
		entry, err = d.deliveries.Get(ctx, task.DeliveryID)
	}
	if err != nil {
		return webhook.Delivery{}, 0, fmt.Errorf("read delivery %s: %w", task.DeliveryID, err)
	}
	var rec webhook.Delivery
	if err := json.Unmarshal(entry.Value(), &rec); err != nil {
		return webhook.Delivery{}, 0, consume.Permanent(fmt.Errorf("delivery record %s: %w", task.DeliveryID, err))
	}
	return rec, entry.Revision(), nil
}

// updateDelivery applies edit to the delivery's record with compare-and-set.
func (d *Dispatcher) updateDelivery(ctx context.Context, task webhook.Task, edit func(*webhook.Delivery)) error {
	for attempt := 0; ; attempt++ {
		rec, rev, err := d.loadDelivery(ctx, task)
		if err != nil {
			return err
		}
		edit(&rec)
		rec.UpdatedAt = d.cfg.Now().UTC()
		data, err := json.Marshal(rec)
		if err != nil {
			return consume.Permanent(err)
		}
		_, err = d.deliveries.Update(ctx, task.DeliveryID, data, rev)
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) || attempt == 4 {
			return fmt.Errorf("update delivery %s: %w", task.DeliveryID, err)
		}
	}
}

// record adds the attempt to the log and settles the delivery's status. It
// returns when the next scheduled attempt is due, nil when there is none.
func (d *Dispatcher) record(ctx context.Context, task webhook.Task, res result, manual bool) (*time.Time, error) {
	var next *time.Time
	err := d.updateDelivery(ctx, task, func(rec *webhook.Delivery) {
		next = nil
		attempt := res.attempt
		switch {
		case res.ok():
			rec.Status, rec.Reason, rec.NextAttemptAt = webhook.DeliveryDelivered, "", nil
		case attempt.HTTPStatus == http.StatusGone:
			rec.Status, rec.Reason, rec.NextAttemptAt = webhook.DeliveryDead, "the receiver answered 410 Gone", nil
		case manual:
			// A manual attempt leaves the schedule as it was.
		default:
			delay := d.retryDelay(rec, res)
			if delay == 0 {
				rec.Status, rec.Reason, rec.NextAttemptAt = webhook.DeliveryDead, "every scheduled attempt failed", nil
				break
			}
			at := attempt.StartedAt.Add(delay)
			rec.Status, attempt.NextAttemptAt, rec.NextAttemptAt, next = webhook.DeliveryFailing, &at, &at, &at
		}
		rec.Attempts = append(rec.Attempts, attempt)
	})
	return next, err
}

// retryDelay returns the delay before the next scheduled attempt of rec
// after the failed res, 0 when the schedule is exhausted.
func (d *Dispatcher) retryDelay(rec *webhook.Delivery, res result) time.Duration {
	delay, ok := d.cfg.Schedule.Next(rec.ScheduledAttempts()+1, d.cfg.Rand)
	if !ok {
		return 0
	}
	if res.retryAfter > 0 {
		delay = webhook.ClampRetryAfter(res.retryAfter, delay)
	}
	return delay
}

// endForSubscription settles a task whose subscription is gone or disabled:
// its delivery is dead, with the reason.
func (d *Dispatcher) endForSubscription(ctx context.Context, task webhook.Task, exists bool) error {
	reason := "the subscription was deleted"
	if exists {
		reason = "the subscription is disabled"
	}
	return d.updateDelivery(ctx, task, func(rec *webhook.Delivery) {
		if rec.Status != webhook.DeliveryDelivered {
			rec.Status, rec.Reason, rec.NextAttemptAt = webhook.DeliveryDead, reason, nil
		}
	})
}
