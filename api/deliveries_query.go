package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
)

// deliveryListParams are the query parameters GET /webhooks/deliveries
// understands.
var deliveryListParams = []string{"account", "status", "subscription_id", "event_type", "invoice_id", "event_id",
	createdAfterParam, createdBeforeParam, "limit", "cursor"}

// parseDeliveryQuery reads the filter, the cursor and the page size of GET
// /webhooks/deliveries. It fails with a ValidationError naming every
// parameter at fault.
func parseDeliveryQuery(r *http.Request) (readmodel.DeliveryFilter, readmodel.DeliveryCursor, int, error) {
	q, err := queryValues(r, deliveryListParams...)
	if err != nil {
		return readmodel.DeliveryFilter{}, readmodel.DeliveryCursor{}, 0, err
	}
	v := &ValidationError{}
	f := readmodel.DeliveryFilter{Account: listedAccount(q, CallerFrom(r.Context()), v), Status: q.Get("status"), EventType: q.Get("event_type")}
	if q.Has("status") && !slices.Contains(webhook.DeliveryStatuses, f.Status) {
		v.add("status", "must be one of %s, not %q", strings.Join(webhook.DeliveryStatuses, ", "), f.Status)
	}
	if q.Has("event_type") && !slices.Contains(webhook.AllEventTypes, f.EventType) {
		v.add("event_type", "must be one of %s, not %q", strings.Join(webhook.AllEventTypes, ", "), f.EventType)
	}
	f.SubscriptionID = parseIDParam(q, "subscription_id", "a subscription ID", v)
	f.InvoiceID = parseIDParam(q, "invoice_id", "an invoice ID", v)
	f.EventID = parseIDParam(q, "event_id", "an event ID", v)
	f.CreatedAfter, f.CreatedBefore = parseCreatedRange(q, v)
	limit, err := parseLimit(q.Get("limit"), DefaultListLimit, MaxListLimit)
	addFieldErrors(v, err)
	var after readmodel.DeliveryCursor
	if q.Has("cursor") {
		after.CreatedAt, after.ID, err = decodeTimeCursor(deliveryCursorPrefix, q.Get("cursor"))
		addFieldErrors(v, err)
	}
	return f, after, limit, v.orNil()
}

// addFieldErrors adds the fields of err, a ValidationError or nil, to v.
func addFieldErrors(v *ValidationError, err error) {
	var fields *ValidationError
	if errors.As(err, &fields) {
		v.Fields = append(v.Fields, fields.Fields...)
	}
}
