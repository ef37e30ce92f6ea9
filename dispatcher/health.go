package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/nats-io/nats.go/jetstream"
)

// trackHealth keeps the subscription's failure streak: a success ends it, a
// failure starts it, and a streak longer than DisableAfter, or a 410 Gone,
// disables the subscription. It writes only when something changes, judged
// from the cached copy, so a healthy subscription costs no write.
func (d *Dispatcher) trackHealth(ctx context.Context, sub webhook.Subscription, res result) {
	now := d.cfg.Now().UTC()
	var edit func(*webhook.Subscription) bool
	var recovered *time.Time // the streak that a success ended
	reason := ""
	switch {
	case res.attempt.HTTPStatus == http.StatusGone:
		reason = "the receiver answered 410 Gone"
		edit = disable(reason, now)
	case res.ok() && sub.FailingSince != nil:
		edit = func(s *webhook.Subscription) bool {
			recovered = s.FailingSince
			s.FailingSince = nil
			return recovered != nil
		}
	case res.ok():
		return
	case sub.FailingSince == nil:
		edit = func(s *webhook.Subscription) bool {
			if s.FailingSince != nil {
				return false
			}
			s.FailingSince = &now
			return true
		}
	case now.Sub(*sub.FailingSince) >= d.cfg.DisableAfter:
		reason = fmt.Sprintf("no successful delivery for %s", d.cfg.DisableAfter)
		edit = disable(reason, now)
	default:
		return
	}
	changed := false
	if err := d.changeSubscription(ctx, sub.ID, func(s *webhook.Subscription) bool {
		changed = edit(s)
		return changed
	}); err != nil {
		d.cfg.Logger.Warn("subscription health not saved", "subscription", sub.ID, "err", err)
		return
	}
	if changed {
		d.announceHealth(ctx, sub, reason, recovered, now)
	}
	if reason == "" {
		return
	}
	if changed {
		d.cfg.Observer.Disabled()
	}
	if _, err := d.ending.End(ctx, sub.ID, "the subscription was disabled: "+reason, now); err != nil {
		d.cfg.Logger.Warn("waiting deliveries of a disabled subscription not ended", "subscription", sub.ID, "err", err)
	}
}

// disable returns an edit that disables a subscription for reason.
func disable(reason string, now time.Time) func(*webhook.Subscription) bool {
	return func(s *webhook.Subscription) bool {
		if s.Status == webhook.StatusDisabled {
			return false
		}
		s.Status, s.DisabledReason, s.UpdatedAt = webhook.StatusDisabled, reason, now
		return true
	}
}

// changeSubscription applies edit to the stored subscription with
// compare-and-set, storing its secrets sealed; edit reports whether it
// changed anything. A subscription deleted meanwhile is left alone.
func (d *Dispatcher) changeSubscription(ctx context.Context, id string, edit func(*webhook.Subscription) bool) error {
	_, err := webhook.ModifySubscription(ctx, d.subscriptions, id, d.cfg.Secrets, edit)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	return err
}
