package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
)

// EventModel lists invoice events with what their deliveries did;
// *readmodel.Store is one.
type EventModel interface {
	Events(ctx context.Context, f readmodel.EventFilter, before readmodel.EventPos, limit int) ([]readmodel.Event, readmodel.EventPos, error)
}

// EventsConfig holds the events resource's options.
type EventsConfig = ResourceConfig

// Events is the /events resource, and an invoice's events: every invoice
// event, as its webhook announces it, with what each delivery of it did.
type Events struct {
	ledger *Ledger
	model  EventModel
	cfg    EventsConfig
}

// NewEvents returns the resource that lists the events model holds, once
// ledger's read model has caught up. It fails when cfg is invalid.
func NewEvents(ledger *Ledger, model EventModel, cfg EventsConfig) (*Events, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Events{ledger: ledger, model: model, cfg: cfg.withDefaults()}, nil
}

// Routes returns the resource's routes, to mount at /events.
func (h *Events) Routes() chi.Router {
	r := chi.NewRouter()
	r.Get("/", h.handle(h.list))
	return r
}

// InvoiceEventsHandler answers GET /invoices/{id}/events: one invoice's
// events, newest first.
func (h *Events) InvoiceEventsHandler() http.HandlerFunc { return h.handle(h.invoiceEvents) }

func (h *Events) handle(fn func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return withErrors(h.cfg.RequestTimeout, h.cfg.Logger, fn)
}

// eventResponse is an event as the API shows it: its webhook's body (type,
// timestamp, the invoice as data) with its ID and what each delivery did.
type eventResponse struct {
	ID         string                  `json:"id"`
	Type       string                  `json:"type"`
	Timestamp  time.Time               `json:"timestamp"`
	InvoiceID  string                  `json:"invoice_id"`
	Data       events.Invoice          `json:"data"`
	Deliveries []eventDeliveryResponse `json:"deliveries"`
}

// eventDeliveryResponse is what one delivery of an event did.
type eventDeliveryResponse struct {
	ID             string `json:"id"`
	SubscriptionID string `json:"subscription_id"`
	Status         string `json:"status"`
	Attempts       int    `json:"attempts"`
}

// eventListResponse is one page of events.
type eventListResponse struct {
	Data       []eventResponse `json:"data"`
	HasMore    bool            `json:"has_more"`
	NextCursor string          `json:"next_cursor,omitempty"`
}

func newEventResponse(e readmodel.Event) eventResponse {
	inv := newInvoiceResponse(e.Event.Invoice)
	inv.Account = e.Account
	out := eventResponse{ID: e.Event.ID, Type: webhook.EventTypeFor(e.Event.Type), Timestamp: e.Event.Time, InvoiceID: inv.ID,
		Data: inv, Deliveries: make([]eventDeliveryResponse, 0, len(e.Deliveries))}
	for _, d := range e.Deliveries {
		out.Deliveries = append(out.Deliveries, eventDeliveryResponse(d))
	}
	return out
}

// The query parameters GET /events understands, and those of GET
// /invoices/{id}/events.
var (
	eventParams        = []string{"account", "type", "since", "invoice_id", "delivery_success", "limit", "cursor"}
	invoiceEventParams = []string{"type", "since", "delivery_success", "limit", "cursor"}
)

func (h *Events) list(w http.ResponseWriter, r *http.Request) error {
	q, err := queryValues(r, eventParams...)
	if err != nil {
		return err
	}
	v := &ValidationError{}
	f := readmodel.EventFilter{Account: listedAccount(q, CallerFrom(r.Context()), v), InvoiceID: parseIDParam(q, "invoice_id", "an invoice ID", v)}
	return h.page(w, r, q, f, v)
}

func (h *Events) invoiceEvents(w http.ResponseWriter, r *http.Request) error {
	q, err := queryValues(r, invoiceEventParams...)
	if err != nil {
		return err
	}
	raw := chi.URLParam(r, "id")
	id, err := uuid.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: no invoice %q", ErrNotFound, raw)
	}
	inv, err := h.ledger.Get(r.Context(), id.String())
	if err != nil {
		return err
	}
	if !CallerFrom(r.Context()).Sees(inv.Account) {
		return fmt.Errorf("%w: no invoice %s", ErrNotFound, id) // as absent: another account learns nothing
	}
	return h.page(w, r, q, readmodel.EventFilter{InvoiceID: inv.ID}, &ValidationError{})
}

// page answers with the page of events that f and the query's type, since,
// delivery_success, limit and cursor select, or with every problem v holds.
func (h *Events) page(w http.ResponseWriter, r *http.Request, q url.Values, f readmodel.EventFilter, v *ValidationError) error {
	f.Type = parseEventType(q, v)
	f.Since, _ = parseTimeParam(q, "since", v)
	f.Delivered = parseBoolParam(q, "delivery_success", v)
	limit, err := parseLimit(q.Get("limit"), DefaultListLimit, MaxListLimit)
	addFieldErrors(v, err)
	var before readmodel.EventPos
	if q.Has("cursor") {
		before, err = decodeEventCursor(q.Get("cursor"))
		addFieldErrors(v, err)
	}
	if err := v.orNil(); err != nil {
		return err
	}
	if err := h.ledger.caughtUp(r.Context()); err != nil {
		return err
	}
	page, next, err := h.model.Events(r.Context(), f, before, limit)
	if err != nil {
		return unavailable("read model", err)
	}
	out := eventListResponse{Data: make([]eventResponse, 0, len(page)), HasMore: !next.IsZero()}
	for _, e := range page {
		out.Data = append(out.Data, newEventResponse(e))
	}
	if !next.IsZero() {
		out.NextCursor = encodeEventCursor(next)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// parseEventType reads the type filter, a webhook event type; a value that
// is none is a problem added to v.
func parseEventType(q url.Values, v *ValidationError) events.Type {
	if !q.Has("type") {
		return ""
	}
	for _, t := range []events.Type{events.InvoiceRequested, events.InvoiceProcessed, events.InvoiceFailed} {
		if webhook.EventTypeFor(t) == q.Get("type") {
			return t
		}
	}
	v.add("type", "must be %s, %s or %s, not %q", webhook.EventInvoiceCreated, webhook.EventInvoiceProcessed, webhook.EventInvoiceFailed, q.Get("type"))
	return ""
}

// parseBoolParam returns the boolean the query parameter name gives, nil
// when it is not given; a value other than true and false is a problem
// added to v.
func parseBoolParam(q url.Values, name string, v *ValidationError) *bool {
	if !q.Has(name) {
		return nil
	}
	switch q.Get(name) {
	case "true":
		return new(true)
	case "false":
		return new(false)
	}
	v.add(name, "must be true or false, not %q", q.Get(name))
	return nil
}
