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
	ctx = withRequestID(ctx, msg)
	subID, _, manual, err := webhook.ParseTaskSubject(msg.Subject())
	if err != nil {
		return consume.Permanent(err)
	}
	var task webhook.Task
	if err := json.Unmarshal(msg.Data(), &task); err != nil || task.DeliveryID == "" {
		return consume.Permanent(fmt.Errorf("task on %s: %w", msg.Subject(), err))
	}
	task.Attempt = max(task.Attempt, 1)
	rec, entry, err := d.loadDelivery(ctx, task)
	if err != nil {
		return err
	}
	switch {
	case manual && (len(rec.Attempts) > task.AttemptsBefore || len(rec.Attempts) >= webhook.MaxAttempts):
		return nil // answered by an attempt made since, or the log is full
	case manual:
	case rec.Status == webhook.DeliveryDelivered, rec.Status == webhook.DeliveryDead:
		return nil
	case rec.ScheduledAttempts() >= task.Attempt:
		return d.ensureScheduled(ctx, task, rec) // stale: made already
	}
	sub, ok, err := d.subscription(ctx, subID)
	if err != nil {
		return err
	}
	if !ok || sub.Status != webhook.StatusEnabled {
		return d.endForSubscription(ctx, task, ok)
	}
	if !d.inFlight.acquireWithin(ctx, subID, d.slotWait(subID)) {
		return d.postpone(ctx, task, entry != nil)
	}
	res := d.sendReleasing(ctx, sub, task, len(rec.Attempts)+1)
	next, err := d.record(ctx, rec, entry, res, manual)
	if err != nil {
		return err
	}
	d.cfg.Logger.Debug("webhook attempt", "request_id", requestID(ctx), "invoice", task.InvoiceID,
		"delivery", task.DeliveryID, "subscription", subID, "attempt", res.attempt.Number,
		"status", res.attempt.HTTPStatus, "error", res.attempt.Error, "duration_ms", res.attempt.DurationMS)
	d.trackHealth(ctx, sub, res)
	if next == nil {
		return nil
	}
	return d.schedule(ctx, task, task.Attempt+1, *next)
}

// sendReleasing makes the attempt and gives the subscription's in-flight
// slot back, whatever happens.
func (d *Dispatcher) sendReleasing(ctx context.Context, sub webhook.Subscription, task webhook.Task, number int) (res result) {
	start := time.Now()
	defer func() {
		took := time.Since(start)
		d.inFlight.release(sub.ID, took)
		d.cfg.Observer.Attempted(res.attempt.HTTPStatus, took)
	}()
	return d.send(ctx, sub, task, number)
}

// subscription returns the subscription from the watched copy when it is
// there and enabled; otherwise it asks the bucket, since the watch may lag
// behind a change made elsewhere.
func (d *Dispatcher) subscription(ctx context.Context, id string) (webhook.Subscription, bool, error) {
	if sub, ok := d.subs.get(id); ok && sub.Status == webhook.StatusEnabled {
		return sub, true, nil
	}
	entry, err := d.subscriptions.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return webhook.Subscription{}, false, nil
	}
	if err != nil {
		return webhook.Subscription{}, false, fmt.Errorf("read subscription %s: %w", id, err)
	}
	var sub webhook.Subscription
	if err := json.Unmarshal(entry.Value(), &sub); err != nil {
		return webhook.Subscription{}, false, consume.Permanent(fmt.Errorf("subscription record %s: %w", id, err))
	}
	return sub, true, nil
}

// loadDelivery reads the delivery's record and returns it with the entry it
// came from; for a delivery with no record yet, it returns the pending
// record its first write will create, and a nil entry.
func (d *Dispatcher) loadDelivery(ctx context.Context, task webhook.Task) (webhook.Delivery, jetstream.KeyValueEntry, error) {
	entry, err := d.deliveries.Get(ctx, task.DeliveryID)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return d.pendingRecord(task), nil, nil
	}
	if err != nil {
		return webhook.Delivery{}, nil, fmt.Errorf("read delivery %s: %w", task.DeliveryID, err)
	}
	var rec webhook.Delivery
	if err := json.Unmarshal(entry.Value(), &rec); err != nil {
		return webhook.Delivery{}, nil, consume.Permanent(fmt.Errorf("delivery record %s: %w", task.DeliveryID, err))
	}
	return rec, entry, nil
}

// pendingRecord returns the record of a delivery not attempted yet.
func (d *Dispatcher) pendingRecord(task webhook.Task) webhook.Delivery {
	now := d.cfg.Now().UTC()
	return webhook.Delivery{
		ID: task.DeliveryID, SubscriptionID: task.SubscriptionID, EventID: task.EventID,
		EventType: task.EventType, InvoiceID: task.InvoiceID, Status: webhook.DeliveryPending,
		Attempts: []webhook.Attempt{}, CreatedAt: now, UpdatedAt: now, Body: task.Body,
	}
}

// recordPending creates the delivery's record unless it exists.
func (d *Dispatcher) recordPending(ctx context.Context, task webhook.Task) error {
	rec := d.pendingRecord(task)
	data, err := json.Marshal(rec)
	if err != nil {
		return consume.Permanent(err)
	}
	if _, err := d.deliveries.Create(ctx, rec.ID, data); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("record delivery %s: %w", rec.ID, err)
	}
	return nil
}

// updateDelivery applies edit to the delivery's record with compare-and-set,
// or to a pending record made from the task when none is stored; edit
// reports whether it changed anything.
func (d *Dispatcher) updateDelivery(ctx context.Context, task webhook.Task, edit func(*webhook.Delivery) bool) error {
	change := func(rec *webhook.Delivery) bool {
		if !edit(rec) {
			return false
		}
		rec.UpdatedAt = d.cfg.Now().UTC()
		return true
	}
	_, err := webhook.Modify(ctx, d.deliveries, task.DeliveryID, change)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		_, err = webhook.ModifyOrCreate(ctx, d.deliveries, task.DeliveryID, nil, d.pendingRecord(task), change)
	}
	return err
}

// record adds the attempt to the log and settles the delivery's status,
// starting from rec as read in entry (nil when rec is not stored yet). It
// returns when the next scheduled attempt is due, nil when there is none.
func (d *Dispatcher) record(ctx context.Context, rec webhook.Delivery, entry jetstream.KeyValueEntry, res result, manual bool) (*time.Time, error) {
	var next *time.Time
	died := false
	_, err := webhook.ModifyOrCreate(ctx, d.deliveries, rec.ID, entry, rec, func(rec *webhook.Delivery) bool {
		wasDead := rec.Status == webhook.DeliveryDead
		defer func() { died = !wasDead && rec.Status == webhook.DeliveryDead }()
		rec.UpdatedAt = d.cfg.Now().UTC()
		next = nil
		attempt := res.attempt
		switch {
		case res.ok():
			rec.Status, rec.Reason, rec.NextAttemptAt = webhook.DeliveryDelivered, "", nil
		case attempt.HTTPStatus == http.StatusGone:
			rec.Status, rec.Reason, rec.NextAttemptAt = webhook.DeliveryDead, "the receiver answered 410 Gone", nil
		case manual:
			// A manual attempt leaves the status and schedule as they were.
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
		return true
	})
	if err == nil && died {
		d.cfg.Observer.Dead()
	}
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
	return d.updateDelivery(ctx, task, func(rec *webhook.Delivery) bool {
		if rec.Status == webhook.DeliveryDelivered || rec.Status == webhook.DeliveryDead {
			return false
		}
		rec.Status, rec.Reason, rec.NextAttemptAt = webhook.DeliveryDead, reason, nil
		return true
	})
}
