package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/invoiced/invoiced/internal/webhook"
	"github.com/nats-io/nats.go/jetstream"
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
		return invalidField("since", "must be an RFC 3339 time such as 2006-01-02T15:04:05Z, not %q", *in.Since)
	case since.After(h.now()):
		return invalidField("since", "must not be in the future")
	}
	ctx := r.Context()
	if _, err := h.enabledSubscription(ctx, subID, "recovering its deliveries"); err != nil {
		return err
	}
	if err := h.index.WaitLoaded(ctx); err != nil {
		return err
	}
	var ids []string
	for _, status := range []string{webhook.DeliveryFailing, webhook.DeliveryDead} {
		ids = append(ids, h.index.All(DeliveryFilter{Status: status, SubscriptionID: subID.String(), Since: since})...)
	}
	var recovered atomic.Int64
	err = forEach(ctx, len(ids), func(ctx context.Context, i int) error {
		d, err := h.load(ctx, ids[i])
		switch {
		case errors.Is(err, ErrNotFound):
			return nil
		case err != nil:
			return err
		case d.Status != webhook.DeliveryFailing && d.Status != webhook.DeliveryDead:
			return nil // delivered meanwhile
		}
		if err := h.enqueue(ctx, d); err != nil {
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

// enabledSubscription reads subscription id. It fails with ErrNotFound when
// there is none and ErrConflict, naming doing, when it is disabled.
func (h *Deliveries) enabledSubscription(ctx context.Context, id uuid.UUID, doing string) (webhook.Subscription, error) {
	entry, err := h.subs.Get(ctx, id.String())
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return webhook.Subscription{}, fmt.Errorf("%w: no subscription %s", ErrNotFound, id)
	case err != nil:
		return webhook.Subscription{}, unavailable("read subscription", err)
	}
	var sub webhook.Subscription
	if err := json.Unmarshal(entry.Value(), &sub); err != nil {
		return webhook.Subscription{}, fmt.Errorf("stored subscription %s: %w", id, err)
	}
	if sub.Status != webhook.StatusEnabled {
		return webhook.Subscription{}, fmt.Errorf("%w: subscription %s is disabled; enable it before %s", ErrConflict, id, doing)
	}
	return sub, nil
}
