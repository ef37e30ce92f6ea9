package dispatcher

import (
	"context"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
)

// announce sends the operational event eventID of eventType, which
// happened at at in account, with data, to every subscription of the
// account that lists it, but except: a task each, published once
// whatever number of times it is announced. A failure is logged: the
// change it announces is made and stays made.
func (d *Dispatcher) announce(ctx context.Context, account, eventType, eventID, except string, at time.Time, data any) {
	for _, sub := range d.subs.matching(account, eventType, at) {
		if sub.ID == except {
			continue // never about itself: a disabled subscription hears of nothing
		}
		task, err := webhook.NewOperationalTask(eventID, eventType, account, sub.ID, at, data)
		if err == nil {
			err = d.enqueue(ctx, task)
		}
		if err != nil {
			d.cfg.Logger.Warn("operational webhook not sent", "type", eventType, "event", eventID, "subscription", sub.ID, "err", err)
		}
	}
}

// announceDead sends delivery.dead about rec, which died, unless rec
// delivered an operational event: so a dead announcement never announces
// itself.
func (d *Dispatcher) announceDead(ctx context.Context, rec webhook.Delivery) {
	if webhook.IsOperational(rec.EventType) {
		return
	}
	d.announce(ctx, rec.Owner(), webhook.EventDeliveryDead, webhook.OperationalEventID(webhook.EventDeliveryDead, rec.ID), "",
		rec.UpdatedAt, webhook.DeadDelivery{ID: rec.ID, SubscriptionID: rec.SubscriptionID, EventID: rec.EventID, EventType: rec.EventType,
			InvoiceID: rec.InvoiceID, Reason: rec.Reason, Attempts: len(rec.Attempts), CreatedAt: rec.CreatedAt})
}

// announceHealth sends subscription.disabled when sub was just disabled
// for reason, to the account's other subscriptions, or delivery.recovered
// when its failure streak that began at failingSince just ended.
func (d *Dispatcher) announceHealth(ctx context.Context, sub webhook.Subscription, reason string, failingSince *time.Time, now time.Time) {
	switch {
	case reason != "":
		d.announce(ctx, sub.Owner(), webhook.EventSubscriptionDisabled,
			webhook.OperationalEventID(webhook.EventSubscriptionDisabled, sub.ID+":"+now.Format(time.RFC3339Nano)), sub.ID, now,
			webhook.DisabledSubscription{ID: sub.ID, URL: sub.URL, DisabledReason: reason})
	case failingSince != nil:
		d.announce(ctx, sub.Owner(), webhook.EventDeliveryRecovered,
			webhook.OperationalEventID(webhook.EventDeliveryRecovered, sub.ID+":"+failingSince.UTC().Format(time.RFC3339Nano)), "", now,
			webhook.RecoveredSubscription{SubscriptionID: sub.ID, URL: sub.URL, FailingSince: failingSince.UTC()})
	}
}
