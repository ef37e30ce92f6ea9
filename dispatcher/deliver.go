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

// busyDelay is how long a task waits when its subscription has every slot
// taken.
const busyDelay = 500 * time.Millisecond

// deliver handles one task: it makes an attempt unless the delivery is
// settled or not yet due, records the attempt, and asks JetStream to
// redeliver the task when the next scheduled attempt is due.
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
	if wait := d.notDue(rec, manual); wait != 0 {
		return consume.RetryAfter(errors.New("not due yet"), wait)
	}
	if rec.Status == webhook.DeliveryDelivered || (rec.Status == webhook.DeliveryDead && !manual) {
		return nil
	}
	if manual && len(rec.Attempts) > task.AttemptsBefore {
		return nil // an attempt was made since this one was asked for
	}
	sub, ok := d.subs.get(subID)
	if !ok || sub.Status != webhook.StatusEnabled {
		return d.endForSubscription(ctx, task, ok)
	}
	if !d.inFlight.acquire(subID) {
		return consume.RetryAfter(errors.New("subscription at its in-flight limit"), busyDelay+time.Duration(d.cfg.Rand()*float64(busyDelay)))
	}
	res := d.send(ctx, sub, task, len(rec.Attempts)+1)
	d.inFlight.release(subID)
	next, err := d.record(ctx, task, res, manual)
	if err != nil {
		return err
	}
	d.trackHealth(ctx, sub, res)
	if next > 0 {
		return consume.RetryAfter(fmt.Errorf("attempt failed: %s", res.attempt.Error), next)
	}
	return nil
}

// notDue returns how long a scheduled task is early, when it came back
// before the delivery's next attempt is due (after a crash between
// recording an attempt and settling its task); else 0.
func (d *Dispatcher) notDue(rec webhook.Delivery, manual bool) time.Duration {
	if manual || rec.Status != webhook.DeliveryFailing || rec.NextAttemptAt == nil {
		return 0
	}
	if early := rec.NextAttemptAt.Sub(d.cfg.Now()); early > time.Second {
		return early
	}
	return 0
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
// returns the delay before the next scheduled attempt, 0 when there is none.
func (d *Dispatcher) record(ctx context.Context, task webhook.Task, res result, manual bool) (time.Duration, error) {
	var next time.Duration
	err := d.updateDelivery(ctx, task, func(rec *webhook.Delivery) {
		next = 0
		attempt := res.attempt
		switch {
		case res.ok():
			rec.Status, rec.Reason, rec.NextAttemptAt = webhook.DeliveryDelivered, "", nil
		case attempt.HTTPStatus == http.StatusGone:
			rec.Status, rec.Reason, rec.NextAttemptAt = webhook.DeliveryDead, "the receiver answered 410 Gone", nil
		case manual:
			// A manual attempt leaves the schedule as it was.
		default:
			next = d.schedule(rec, res)
			if next == 0 {
				rec.Status, rec.Reason, rec.NextAttemptAt = webhook.DeliveryDead, "every scheduled attempt failed", nil
				break
			}
			at := attempt.StartedAt.Add(next)
			rec.Status, attempt.NextAttemptAt, rec.NextAttemptAt = webhook.DeliveryFailing, &at, &at
		}
		rec.Attempts = append(rec.Attempts, attempt)
	})
	return next, err
}

// schedule returns the delay before the next scheduled attempt of rec after
// the failed res, 0 when the schedule is exhausted.
func (d *Dispatcher) schedule(rec *webhook.Delivery, res result) time.Duration {
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
