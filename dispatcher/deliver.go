package dispatcher

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/consume"
	"github.com/invoiced/invoiced/internal/infra/tracing"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// deliver handles one task: it makes an attempt unless the delivery is
// settled or the task is stale, records the attempt, and schedules the next
// scheduled attempt in JetStream when one is due later.
func (d *Dispatcher) deliver(ctx context.Context, msg jetstream.Msg) error {
	ctx = tracing.Extract(withCarried(ctx, msg), msg.Headers())
	subID, _, kind, err := webhook.ParseTaskSubject(msg.Subject())
	if err != nil {
		d.skipped.Add(1)
		return consume.Permanent(err)
	}
	var task webhook.Task
	if err := json.Unmarshal(msg.Data(), &task); err != nil || task.DeliveryID == "" {
		d.skipped.Add(1)
		return consume.Permanent(fmt.Errorf("task on %s: %w", msg.Subject(), err))
	}
	task.Attempt = max(task.Attempt, 1)
	// A task fired from a schedule may come again, after its delivery
	// settled (a held task released at once, see releaseNext).
	manual, fired := kind == webhook.TaskManual, kind == webhook.TaskRetry
	rec, entry, err := d.loadDelivery(ctx, task, manual || fired || task.Attempt > 1 || redelivered(msg))
	if err != nil {
		return err
	}
	switch {
	case manual && (len(rec.Attempts) > task.AttemptsBefore || len(rec.Attempts) >= webhook.MaxAttempts):
		return nil // answered by an attempt made since, or the log is full
	case manual:
	case rec.Settled() && entry != nil:
		return d.finishAfterCrash(ctx, task, rec, entry.Revision())
	case rec.Settled():
		return nil
	case rec.ScheduledAttempts() >= task.Attempt:
		return d.ensureScheduled(ctx, task, rec) // stale: made already
	}
	sub, ok, err := d.subscription(ctx, subID)
	if err != nil {
		return err
	}
	if !ok || sub.Status != webhook.StatusEnabled {
		return d.endForSubscription(ctx, rec, entry, ok)
	}
	if !manual {
		pred, until, err := d.heldBehind(ctx, sub, task)
		if err != nil || pred != "" {
			return cmp.Or(err, d.hold(ctx, sub, task, entry != nil, pred, until))
		}
	}
	if !d.inFlight.acquireWithin(ctx, subID, d.slotWait(subID)) {
		return d.postpone(ctx, task, entry != nil)
	}
	res := d.sendReleasing(ctx, sub, task, len(rec.Attempts)+1)
	stored, next, err := d.record(ctx, rec, entry, res, manual)
	if err != nil {
		return err
	}
	if stored.Status == webhook.DeliveryDelivered && rec.Status != webhook.DeliveryDelivered && !task.AcceptedAt.IsZero() {
		d.cfg.Observer.Delivered(task.EventType, d.cfg.Now().Sub(task.AcceptedAt))
	}
	if stored.Settled() && sub.OrderedPerInvoice() {
		d.releaseNext(ctx, task)
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

// redelivered reports whether msg has been delivered before.
func redelivered(msg jetstream.Msg) bool {
	md, err := msg.Metadata()
	return err == nil && md.NumDelivered > 1
}

// sendReleasing makes the attempt and gives the subscription's in-flight
// slot back, whatever happens.
func (d *Dispatcher) sendReleasing(ctx context.Context, sub webhook.Subscription, task webhook.Task, number int) (res result) {
	start := time.Now()
	ctx, span := d.cfg.Tracer.Start(ctx, "webhook attempt", trace.WithSpanKind(trace.SpanKindClient))
	defer func() {
		took := time.Since(start)
		d.inFlight.release(sub.ID, took)
		d.cfg.Observer.Attempted(res.attempt.HTTPStatus, took)
		endAttemptSpan(span, task, res)
	}()
	return d.send(ctx, sub, task, number)
}

// endAttemptSpan describes the attempt res on span and ends it, failed
// unless the receiver accepted it.
func endAttemptSpan(span trace.Span, task webhook.Task, res result) {
	if span.IsRecording() {
		span.SetAttributes(
			attribute.String("http.request.method", http.MethodPost),
			attribute.String("url.full", res.attempt.URL),
			attribute.Int("http.response.status_code", res.attempt.HTTPStatus),
			attribute.String("invoiced.delivery_id", task.DeliveryID),
			attribute.String("invoiced.subscription_id", task.SubscriptionID),
			attribute.String("invoiced.event_type", task.EventType),
			attribute.Int("invoiced.attempt", res.attempt.Number),
		)
		if !res.ok() {
			span.SetStatus(codes.Error, res.attempt.Error)
		}
	}
	span.End()
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

// loadDelivery returns the delivery's record with the live entry it came
// from. With no live record it returns, when settledToo, its settled record
// while the WEBHOOKS stream holds one; then the record a manual task
// carries; and otherwise the pending record its first write will create.
// The entry is nil unless the record is live.
func (d *Dispatcher) loadDelivery(ctx context.Context, task webhook.Task, settledToo bool) (webhook.Delivery, jetstream.KeyValueEntry, error) {
	entry, err := d.deliveries.Get(ctx, task.DeliveryID)
	switch {
	case err == nil:
		var rec webhook.Delivery
		if err := json.Unmarshal(entry.Value(), &rec); err != nil {
			return webhook.Delivery{}, nil, consume.Permanent(fmt.Errorf("delivery record %s: %w", task.DeliveryID, err))
		}
		return rec, entry, nil
	case !errors.Is(err, jetstream.ErrKeyNotFound):
		return webhook.Delivery{}, nil, fmt.Errorf("read delivery %s: %w", task.DeliveryID, err)
	}
	if settledToo {
		rec, ok, err := d.ending.Settler.Settled(ctx, task.SubscriptionID, task.DeliveryID)
		if errors.Is(err, webhook.ErrUndecodable) {
			// Passed over: the delivery goes on as if it had none, so at
			// worst one more attempt, never one retried for ever.
			d.skipped.Add(1)
			d.cfg.Logger.Warn("settled record passed over", "delivery", task.DeliveryID, "err", err)
			err = nil
		}
		if err != nil || ok {
			return rec, nil, err
		}
	}
	if task.Record != nil && task.Record.ID == task.DeliveryID {
		rec := *task.Record
		rec.Body = task.Body
		return rec, nil, nil
	}
	return d.pendingRecord(task), nil, nil
}

// pendingRecord returns the record of a delivery not attempted yet.
func (d *Dispatcher) pendingRecord(task webhook.Task) webhook.Delivery {
	now := d.cfg.Now().UTC()
	return webhook.Delivery{
		ID: task.DeliveryID, Account: task.Account, SubscriptionID: task.SubscriptionID, EventID: task.EventID,
		EventType: task.EventType, InvoiceID: task.InvoiceID, Status: webhook.DeliveryPending,
		Attempts: []webhook.Attempt{}, CreatedAt: now, UpdatedAt: now, Body: task.Body,
	}
}

// recordPending creates the delivery's record, with reason unless it is
// "", unless it exists.
func (d *Dispatcher) recordPending(ctx context.Context, task webhook.Task, reason string) error {
	rec := d.pendingRecord(task)
	rec.Reason = reason
	data, err := json.Marshal(rec)
	if err != nil {
		return consume.Permanent(err)
	}
	if _, err := d.deliveries.Create(ctx, rec.ID, data); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("record delivery %s: %w", rec.ID, err)
	}
	return nil
}

// save applies edit to rec, read from entry (nil when it has no live
// record), and stores the result: in the bucket of live records while the
// delivery is in play, written with compare-and-set, and as its settled
// record once it is delivered or dead. It returns what it stored.
func (d *Dispatcher) save(ctx context.Context, rec webhook.Delivery, entry jetstream.KeyValueEntry, edit func(*webhook.Delivery) bool) (webhook.Delivery, error) {
	if entry == nil {
		next := rec
		next.Attempts = slices.Clone(rec.Attempts)
		if !edit(&next) {
			return rec, nil
		}
		if next.Settled() {
			return next, d.ending.Settler.Finish(ctx, next, 0)
		}
	}
	stored, err := webhook.ModifyOrCreate(ctx, d.deliveries, rec.ID, entry, rec, edit)
	if err == nil && stored.Value.Settled() {
		err = d.ending.Settler.Finish(ctx, stored.Value, stored.Revision)
	}
	return stored.Value, err
}

// record adds the attempt to the log and settles the delivery's status,
// starting from rec as read in entry (nil when rec is not stored yet). It
// returns the record stored and when the next scheduled attempt is due,
// nil when there is none.
func (d *Dispatcher) record(ctx context.Context, rec webhook.Delivery, entry jetstream.KeyValueEntry, res result, manual bool) (webhook.Delivery, *time.Time, error) {
	var next *time.Time
	died := false
	stored, err := d.save(ctx, rec, entry, func(rec *webhook.Delivery) bool {
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
			rec.Status, rec.Reason, attempt.NextAttemptAt, rec.NextAttemptAt, next = webhook.DeliveryFailing, "", &at, &at, &at
		}
		rec.Attempts = append(rec.Attempts, attempt)
		return true
	})
	if err == nil && died {
		d.cfg.Observer.Dead()
	}
	if err == nil && stored.Status == webhook.DeliveryDead && !manual {
		// Again when a crash came between the death and its announcement:
		// announced twice, it is sent once.
		d.announceDead(ctx, stored)
	}
	return stored, next, err
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

// endForSubscription settles a delivery whose subscription is gone or
// disabled: it is dead, with the reason.
func (d *Dispatcher) endForSubscription(ctx context.Context, rec webhook.Delivery, entry jetstream.KeyValueEntry, exists bool) error {
	reason := "the subscription was deleted"
	if exists {
		reason = "the subscription is disabled"
	}
	_, err := d.save(ctx, rec, entry, func(rec *webhook.Delivery) bool {
		if rec.Settled() {
			return false
		}
		rec.Status, rec.Reason, rec.NextAttemptAt, rec.UpdatedAt = webhook.DeliveryDead, reason, nil, d.cfg.Now().UTC()
		return true
	})
	return err
}
