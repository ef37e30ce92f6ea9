package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
	"github.com/nats-io/nats.go/jetstream"
)

// EntryGetter reads one key of a bucket; jetstream.KeyValue is one.
type EntryGetter interface {
	Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error)
}

// DeliveryModel is the read model of every delivery; *readmodel.Store is
// one.
type DeliveryModel interface {
	Delivery(ctx context.Context, id string) (webhook.Delivery, error)
	Deliveries(ctx context.Context, f readmodel.DeliveryFilter, after readmodel.DeliveryCursor, limit int) ([]webhook.Delivery, readmodel.DeliveryCursor, error)
}

// deliveryWorkers bounds the bucket reads and publishes one request makes at
// once.
const deliveryWorkers = 8

// Deliveries is the /webhooks/deliveries resource, the delivery log that
// the dispatcher writes, and the recovery of a subscription's failed
// deliveries. It only reads the log, from the read model; a retry asks the
// dispatcher for an attempt by publishing a manual task to the WEBHOOKS
// stream.
type Deliveries struct {
	model DeliveryModel
	subs  EntryGetter
	pub   Publisher
	cfg   DeliveriesConfig
	now   func() time.Time
}

// NewDeliveries returns the resource that reads deliveries from model,
// looks subscriptions up in subs (the webhook_subscriptions bucket) and
// publishes manual tasks with pub. It fails when cfg is invalid.
func NewDeliveries(model DeliveryModel, subs EntryGetter, pub Publisher, cfg DeliveriesConfig) (*Deliveries, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Deliveries{model: model, subs: subs, pub: pub, cfg: cfg, now: time.Now}, nil
}

// Routes returns GET / (a page of deliveries, newest first), GET /{id} (one
// delivery, its attempts and payload) and POST /{id}/retry (one attempt
// now), to mount at /webhooks/deliveries.
func (h *Deliveries) Routes() chi.Router {
	r := chi.NewRouter()
	r.Get("/", h.handle(h.list))
	r.Get("/{id}", h.handle(h.get))
	r.Post("/{id}/retry", h.handle(h.retry))
	return r
}

// RecoverHandler returns the handler of POST
// /webhooks/subscriptions/{id}/recover with body {"since": RFC 3339 time}:
// it asks for one attempt now at every failing or dead delivery of the
// subscription created at or after since, and answers 202
// {"recovered": n}. Repeating it soon after sends no second attempt.
func (h *Deliveries) RecoverHandler() http.HandlerFunc { return h.handle(h.recoverSubscription) }

func (h *Deliveries) handle(fn func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return withErrors(h.cfg.RequestTimeout, h.cfg.Logger, fn)
}

func (h *Deliveries) list(w http.ResponseWriter, r *http.Request) error {
	f, after, limit, err := parseDeliveryQuery(r)
	if err != nil {
		return err
	}
	page, next, err := h.model.Deliveries(r.Context(), f, after, limit)
	if err != nil {
		return unavailable("read model", err)
	}
	out := deliveryListResponse{Data: make([]deliveryResponse, 0, len(page)), HasMore: !next.IsZero()}
	for _, d := range page {
		out.Data = append(out.Data, newDeliveryResponse(d, false))
	}
	if !next.IsZero() {
		out.NextCursor = encodeTimeCursor(deliveryCursorPrefix, next.CreatedAt, next.ID)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Deliveries) get(w http.ResponseWriter, r *http.Request) error {
	d, err := h.load(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newDeliveryResponse(d, true))
	return nil
}

func (h *Deliveries) retry(w http.ResponseWriter, r *http.Request) error {
	d, err := h.load(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	if err := h.retryable(r.Context(), d); err != nil {
		return err
	}
	if err := h.enqueue(r.Context(), d); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, newDeliveryResponse(d, true))
	return nil
}

// retryable returns nil when one more attempt at d can be made. It fails
// with ErrConflict when d's log is full or its subscription is disabled or
// deleted: the dispatcher would then send nothing, only end d as dead.
func (h *Deliveries) retryable(ctx context.Context, d webhook.Delivery) error {
	if len(d.Attempts) >= webhook.MaxAttempts {
		return fmt.Errorf("%w: delivery %s has %d attempts, the most one keeps", ErrConflict, d.ID, len(d.Attempts))
	}
	subID, err := uuid.Parse(d.SubscriptionID)
	if err != nil {
		return fmt.Errorf("stored delivery %s names subscription %q: %w", d.ID, d.SubscriptionID, err)
	}
	_, err = h.enabledSubscription(ctx, subID, "retrying its deliveries")
	if errors.Is(err, ErrNotFound) {
		// The delivery exists; its subscription's absence is its state.
		return fmt.Errorf("%w: subscription %s of delivery %s was deleted; no attempt can be made", ErrConflict, subID, d.ID)
	}
	return err
}

// load reads one delivery; ErrNotFound when absent, another account's than
// the caller's in ctx, or id is no delivery ID.
func (h *Deliveries) load(ctx context.Context, id string) (webhook.Delivery, error) {
	key, err := uuid.Parse(id)
	if err != nil {
		return webhook.Delivery{}, fmt.Errorf("%w: no delivery %q", ErrNotFound, id)
	}
	d, err := h.model.Delivery(ctx, key.String())
	switch {
	case errors.Is(err, readmodel.ErrNotFound):
		return webhook.Delivery{}, fmt.Errorf("%w: no delivery %s", ErrNotFound, key)
	case err != nil:
		return webhook.Delivery{}, unavailable("read model", err)
	case !CallerFrom(ctx).Sees(d.Owner()):
		return webhook.Delivery{}, fmt.Errorf("%w: no delivery %s", ErrNotFound, key)
	}
	return d, nil
}

// enqueue publishes the task that asks for one attempt at d now. Its
// Nats-Msg-Id names d's attempt count, so requests repeated before the next
// attempt is recorded store one task.
func (h *Deliveries) enqueue(ctx context.Context, d webhook.Delivery) error {
	if err := webhook.PublishManualTask(ctx, h.pub, d, RequestID(ctx)); err != nil {
		return unavailable("enqueue attempt", err)
	}
	return nil
}

// forEach calls fn for 0..n-1 on up to deliveryWorkers goroutines and
// returns the first error; once there is one, the ctx of the calls still
// running ends and no more start.
func forEach(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		once  sync.Once
		first error
	)
	fail := func(err error) {
		once.Do(func() { first = err })
		cancel()
	}
	for range min(n, deliveryWorkers) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := ctx.Err(); err != nil {
					fail(unavailable("request ended", err))
					return
				}
				if err := fn(ctx, i); err != nil {
					fail(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// deliveryResponse is a delivery as the API shows it: the stored record,
// with the webhook body it sends as payload.
type deliveryResponse struct {
	ID             string            `json:"id"`
	Account        string            `json:"account"`
	SubscriptionID string            `json:"subscription_id"`
	EventID        string            `json:"event_id"`
	EventType      string            `json:"event_type"`
	InvoiceID      string            `json:"invoice_id"`
	Status         string            `json:"status"`
	Reason         string            `json:"reason,omitempty"`
	Attempts       []attemptResponse `json:"attempts"`
	NextAttemptAt  *time.Time        `json:"next_attempt_at,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
	Payload        json.RawMessage   `json:"payload,omitempty"`
}

// attemptResponse is one attempt as the API shows it.
type attemptResponse struct {
	Number        int        `json:"number"`
	Trigger       string     `json:"trigger"`
	StartedAt     time.Time  `json:"started_at"`
	DurationMS    int64      `json:"duration_ms"`
	URL           string     `json:"url"`
	HTTPStatus    int        `json:"http_status"`
	Error         string     `json:"error,omitempty"`
	ResponseBody  string     `json:"response_body,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
}

// deliveryListResponse is one page of GET /webhooks/deliveries.
type deliveryListResponse struct {
	Data       []deliveryResponse `json:"data"`
	HasMore    bool               `json:"has_more"`
	NextCursor string             `json:"next_cursor,omitempty"`
}

// newDeliveryResponse shows d, with its payload when withPayload and the
// stored body is JSON.
func newDeliveryResponse(d webhook.Delivery, withPayload bool) deliveryResponse {
	out := deliveryResponse{
		ID: d.ID, Account: d.Owner(), SubscriptionID: d.SubscriptionID, EventID: d.EventID, EventType: d.EventType,
		InvoiceID: d.InvoiceID, Status: d.Status, Reason: d.Reason, NextAttemptAt: d.NextAttemptAt,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, Attempts: make([]attemptResponse, len(d.Attempts)),
	}
	for i, a := range d.Attempts {
		out.Attempts[i] = attemptResponse(a)
	}
	if withPayload && json.Valid(d.Body) {
		out.Payload = d.Body
	}
	return out
}
