package api

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
)

// recoverBody is the payload of POST /webhooks/subscriptions/{id}/recover.
type recoverBody struct {
	Since *string `json:"since"`
}

type recoverResponse struct {
	Recovered int `json:"recovered"`
}

func (h *Deliveries) recoverSubscription(w http.ResponseWriter, r *http.Request) error {
	subID, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		return fmt.Errorf("%w: no subscription %q", ErrNotFound, chi.URLParam(r, "id"))
	}
	var in recoverBody
	if err := readJSON(w, r, &in); err != nil {
		return err
	}
	if in.Since == nil {
		return invalidField("since", "is required: an RFC 3339 time")
	}
	since, err := time.Parse(time.RFC3339, *in.Since)
	switch {
	case err != nil:
		return invalidField("since", "%s, not %q", rfc3339Rule, *in.Since)
	case since.After(h.now()):
		return invalidField("since", "must not be in the future")
	}
	ctx := r.Context()
	if _, err := h.enabledSubscription(ctx, subID, "recovering its deliveries"); err != nil {
		return err
	}
	var found []webhook.Delivery
	for _, status := range []string{webhook.DeliveryFailing, webhook.DeliveryDead} {
		all, err := h.all(ctx, readmodel.DeliveryFilter{Status: status, SubscriptionID: subID.String(), Since: since})
		if err != nil {
			return err
		}
		found = append(found, all...)
	}
	var recovered atomic.Int64
	err = forEach(ctx, len(found), func(ctx context.Context, i int) error {
		if err := h.enqueue(ctx, found[i]); err != nil {
			return err
		}
		recovered.Add(1)
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, recoverResponse{Recovered: int(recovered.Load())})
	return nil
}

// all returns, newest first, every delivery that matches f.
func (h *Deliveries) all(ctx context.Context, f readmodel.DeliveryFilter) ([]webhook.Delivery, error) {
	var out []webhook.Delivery
	for after := (readmodel.DeliveryCursor{}); ; {
		page, next, err := h.model.Deliveries(ctx, f, after, 1000)
		if err != nil {
			return nil, unavailable("read model", err)
		}
		out = append(out, page...)
		if next.IsZero() {
			return out, nil
		}
		after = next
	}
}

// enabledSubscription reads subscription id. It fails with ErrNotFound when
// there is none and ErrConflict, naming doing, when it is disabled.
func (h *Deliveries) enabledSubscription(ctx context.Context, id uuid.UUID, doing string) (webhook.Subscription, error) {
	sub, _, err := readSubscription(ctx, h.subs, id.String(), h.cfg.Logger)
	if err != nil {
		return webhook.Subscription{}, err
	}
	if sub.Status != webhook.StatusEnabled {
		return webhook.Subscription{}, fmt.Errorf("%w: subscription %s is disabled; enable it before %s", ErrConflict, id, doing)
	}
	return sub, nil
}
