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
	entry, err := h.subs.Get(ctx, subID.String())
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return fmt.Errorf("%w: no subscription %s", ErrNotFound, subID)
	case err != nil:
		return unavailable("read subscription", err)
	}
	var sub webhook.Subscription
	if err := json.Unmarshal(entry.Value(), &sub); err != nil {
		return fmt.Errorf("stored subscription %s: %w", subID, err)
	}
	if sub.Status != webhook.StatusEnabled {
		return fmt.Errorf("%w: subscription %s is disabled; enable it before recovering its deliveries", ErrConflict, subID)
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
