package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
)

// List paging limits.
const (
	DefaultListLimit = 20
	MaxListLimit     = 100
)

// Invoices is the /invoices resource.
type Invoices struct {
	ledger *Ledger
	cfg    InvoicesConfig
}

// NewInvoices returns the resource that stores, reads and lists invoices
// with ledger, which logs what it passes over to cfg.Logger. It fails when
// cfg is invalid.
func NewInvoices(ledger *Ledger, cfg InvoicesConfig) (*Invoices, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if ledger != nil {
		ledger.log = cfg.Logger
	}
	return &Invoices{ledger: ledger, cfg: cfg}, nil
}

// Routes returns the resource's routes, to mount at /invoices.
func (h *Invoices) Routes() chi.Router {
	r := chi.NewRouter()
	r.Post("/", h.handle(h.create))
	r.Get("/", h.handle(h.list))
	r.Get("/{id}", h.handle(h.get))
	return r
}

// handle adapts a handler that returns an error.
func (h *Invoices) handle(fn func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return withErrors(h.cfg.RequestTimeout, h.cfg.Logger, fn)
}

func (h *Invoices) create(w http.ResponseWriter, r *http.Request) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	req, err := decodeInvoiceRequest(body)
	if err != nil {
		return err
	}
	ctx := r.Context()
	inv, replayed, err := h.ledger.Create(ctx, CallerFrom(r.Context()).Account, key, req)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/invoices/"+inv.ID)
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeInvoice(w, http.StatusCreated, inv)
	return nil
}

func (h *Invoices) get(w http.ResponseWriter, r *http.Request) error {
	raw := chi.URLParam(r, "id")
	id, err := uuid.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: no invoice %q", ErrNotFound, raw)
	}
	ctx := r.Context()
	inv, err := h.ledger.Get(ctx, id.String())
	if err != nil {
		return err
	}
	if !CallerFrom(ctx).Sees(inv.Account) {
		// As absent, so another account learns nothing, not even that it exists.
		return fmt.Errorf("%w: no invoice %s", ErrNotFound, id)
	}
	writeJSON(w, http.StatusOK, newInvoiceResponse(inv))
	return nil
}

func (h *Invoices) list(w http.ResponseWriter, r *http.Request) error {
	filter, before, limit, err := parseListQuery(r)
	if err != nil {
		return err
	}
	page, next, err := h.ledger.List(r.Context(), filter, before, limit)
	if err != nil {
		return err
	}
	out := invoiceListResponse{Data: make([]events.Invoice, 0, len(page)), HasMore: next != 0}
	for _, inv := range page {
		out.Data = append(out.Data, newInvoiceResponse(inv))
	}
	if next != 0 {
		out.NextCursor = encodeCursor(next)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// listParams are the query parameters GET /invoices understands.
var listParams = []string{"account", "customer_id", "status", createdAfterParam, createdBeforeParam, "limit", "cursor"}

// parseListQuery reads the filter, the cursor and the page size of GET
// /invoices. It fails with a ValidationError naming every parameter at
// fault.
func parseListQuery(r *http.Request) (readmodel.InvoiceFilter, uint64, int, error) {
	q, err := queryValues(r, listParams...)
	if err != nil {
		return readmodel.InvoiceFilter{}, 0, 0, err
	}
	v := &ValidationError{}
	f := readmodel.InvoiceFilter{Account: listedAccount(q, CallerFrom(r.Context()), v), CustomerID: q.Get("customer_id")}
	if q.Has("customer_id") {
		checkID(v, "customer_id", f.CustomerID)
	}
	f.Status, err = parseStatus(q.Get("status"))
	addFieldErrors(v, err)
	f.CreatedAfter, f.CreatedBefore = parseCreatedRange(q, v)
	limit, err := parseLimit(q.Get("limit"), DefaultListLimit, MaxListLimit)
	addFieldErrors(v, err)
	var before uint64
	if q.Has("cursor") {
		before, err = decodeCursor(q.Get("cursor"))
		addFieldErrors(v, err)
	}
	return f, before, limit, v.orNil()
}

// requireJSON refuses a body that is not declared as JSON.
func requireJSON(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		if ct == "" {
			ct = "none"
		}
		return fmt.Errorf("%w: Content-Type must be application/json, not %s", ErrUnsupportedMediaType, ct)
	}
	return nil
}

// MaxIdempotencyKeyLen is the longest Idempotency-Key accepted.
const MaxIdempotencyKeyLen = 255

// idempotencyKey returns the request's Idempotency-Key: required, one value,
// 1 to 255 printable ASCII characters.
func idempotencyKey(r *http.Request) (string, error) {
	const field = "Idempotency-Key"
	vals := r.Header.Values(field)
	switch {
	case len(vals) == 0:
		return "", invalidField(field, "header is required: send a unique key per invoice and reuse it on retries")
	case len(vals) > 1:
		return "", invalidField(field, "header must be sent once")
	}
	key := vals[0]
	switch {
	case key == "":
		return "", invalidField(field, "must not be empty")
	case len(key) > MaxIdempotencyKeyLen:
		return "", invalidField(field, "must be at most %d characters, not %d", MaxIdempotencyKeyLen, len(key))
	case strings.ContainsFunc(key, func(c rune) bool { return c < 0x20 || c > 0x7e }):
		return "", invalidField(field, "must be printable ASCII")
	}
	return key, nil
}

// readBody reads at most MaxBodyBytes of the body.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBodyBytes {
		return nil, fmt.Errorf("%w: the body is %d bytes; the limit is %d", ErrTooLarge, r.ContentLength, MaxBodyBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, fmt.Errorf("%w: the limit is %d bytes", ErrTooLarge, MaxBodyBytes)
	case err != nil:
		return nil, fmt.Errorf("%w: reading the body: %w", ErrInvalid, err)
	}
	return body, nil
}
