package dispatcher

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/consume"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// schedule asks JetStream to fire scheduled attempt number attempt of the
// delivery at at: a message under the delivery's schedule subject, which
// replaces any earlier schedule of it, fired to its retry subject. The task
// that asked is then acked, so a waiting retry holds no consumer slot.
func (d *Dispatcher) schedule(ctx context.Context, task webhook.Task, attempt int, at time.Time) error {
	task.HeldBy, task.Holds = "", 0
	return d.fireAt(ctx, task, attempt, at)
}

// fireAt schedules task, as it is, for scheduled attempt number attempt at
// at (see schedule).
func (d *Dispatcher) fireAt(ctx context.Context, task webhook.Task, attempt int, at time.Time) error {
	task.Trigger, task.Attempt, task.AttemptsBefore = webhook.TriggerScheduled, attempt, 0
	data, err := json.Marshal(task)
	if err != nil {
		return consume.Permanent(err)
	}
	msg := nats.NewMsg(webhook.ScheduleSubject(task.SubscriptionID, task.DeliveryID))
	msg.Data = data
	msg.Header.Set(jetstream.ScheduleHeader, "@at "+at.UTC().Format(time.RFC3339Nano))
	msg.Header.Set(jetstream.ScheduleTargetHeader, webhook.RetryTaskSubject(task.SubscriptionID, task.DeliveryID))
	passOn(ctx, msg)
	if _, err := d.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("schedule attempt %d of %s: %w", attempt, task.DeliveryID, err)
	}
	return nil
}

// ensureScheduled settles a stale task for an attempt already made. When
// the delivery still awaits its next attempt, that attempt is scheduled
// again: a crash may have come between recording the attempt and
// scheduling the next, and a repeated schedule replaces the first.
func (d *Dispatcher) ensureScheduled(ctx context.Context, task webhook.Task, rec webhook.Delivery) error {
	if rec.Status != webhook.DeliveryFailing || rec.NextAttemptAt == nil {
		return nil
	}
	return d.schedule(ctx, task, rec.ScheduledAttempts()+1, *rec.NextAttemptAt)
}

// maxSlotWait bounds how long a worker waits for a busy subscription's slot
// rather than putting its task off: only subscriptions whose attempts
// typically take less are waited for.
const maxSlotWait = 50 * time.Millisecond

// slotWait returns how long a worker waits for a slot of subscription
// subID when all are taken: twice a typical attempt of a fast endpoint,
// whose slots come free at once, and nothing for a slow one, whose task is
// put off so it holds no worker.
func (d *Dispatcher) slotWait(subID string) time.Duration {
	typical := d.inFlight.typical(subID, d.cfg.Timeout)
	if typical >= maxSlotWait {
		return 0
	}
	return 2 * typical
}

// minPostpone is the shortest a task waits for a busy subscription.
const minPostpone = 20 * time.Millisecond

// postpone puts off a task whose subscription has every slot taken, without
// counting an attempt, by about as long as that subscription's attempts
// take: a moment for a fast endpoint with a burst of work, up to the timeout
// for one that hangs. A delivery with no record yet gets its pending record
// first, so it shows in the log while it waits and ends with its
// subscription.
func (d *Dispatcher) postpone(ctx context.Context, task webhook.Task, stored bool) error {
	if !stored {
		if err := d.recordPending(ctx, task, ""); err != nil {
			return err
		}
	}
	typical := min(max(d.inFlight.typical(task.SubscriptionID, d.cfg.Timeout), minPostpone), d.cfg.Timeout)
	wait := typical/2 + time.Duration(d.cfg.Rand()*float64(typical))
	if task.Trigger == webhook.TriggerManual {
		return consume.RetryAfter(fmt.Errorf("subscription %s at its in-flight limit", task.SubscriptionID), wait)
	}
	return d.schedule(ctx, task, task.Attempt, d.cfg.Now().Add(wait))
}
