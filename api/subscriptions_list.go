package api

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/nats-io/nats.go/jetstream"
)

// subscriptionListParams are the query parameters GET
// /webhooks/subscriptions understands.
var subscriptionListParams = []string{"account", "limit", "cursor"}

// subscriptionListResponse is one page of GET /webhooks/subscriptions.
type subscriptionListResponse struct {
	Data       []subscriptionResponse `json:"data"`
	HasMore    bool                   `json:"has_more"`
	NextCursor string                 `json:"next_cursor,omitempty"`
}

// subscriptionPlace is a place in the subscription order: newest first by
// creation time, then by ID. IDs are unique, so the order is total, and a
// page continues after the last one shown whatever was created or deleted
// meanwhile.
type subscriptionPlace struct {
	createdAt time.Time
	id        string
}

// placeOf returns the place of s in the subscription order.
func placeOf(s webhook.Subscription) subscriptionPlace { return subscriptionPlace{s.CreatedAt, s.ID} }

// compare orders p before o when p is newer.
func (p subscriptionPlace) compare(o subscriptionPlace) int {
	return cmp.Or(o.createdAt.Compare(p.createdAt), cmp.Compare(o.id, p.id))
}

// parseSubscriptionQuery reads the account, the cursor (nil for the first
// page) and the page size of GET /webhooks/subscriptions. It fails with a
// ValidationError naming every parameter at fault.
func parseSubscriptionQuery(r *http.Request) (string, *subscriptionPlace, int, error) {
	q, err := queryValues(r, subscriptionListParams...)
	if err != nil {
		return "", nil, 0, err
	}
	v := &ValidationError{}
	account := listedAccount(q, CallerFrom(r.Context()), v)
	limit, err := parseLimit(q.Get("limit"), DefaultListLimit, MaxListLimit)
	addFieldErrors(v, err)
	var after *subscriptionPlace
	if q.Has("cursor") {
		at, id, err := decodeTimeCursor(subscriptionCursorPrefix, q.Get("cursor"))
		addFieldErrors(v, err)
		after = &subscriptionPlace{at, id}
	}
	return account, after, limit, v.orNil()
}

func (h *Subscriptions) list(w http.ResponseWriter, r *http.Request) error {
	account, after, limit, err := parseSubscriptionQuery(r)
	if err != nil {
		return err
	}
	subs, err := h.visible(r.Context(), account)
	if err != nil {
		return err
	}
	slices.SortFunc(subs, func(a, b webhook.Subscription) int { return placeOf(a).compare(placeOf(b)) })
	if after != nil {
		subs = subs[countBefore(subs, *after):]
	}
	out := subscriptionListResponse{Data: []subscriptionResponse{}, HasMore: len(subs) > limit}
	for _, s := range subs[:min(limit, len(subs))] {
		out.Data = append(out.Data, newSubscriptionResponse(s, "", h.now().UTC()))
	}
	if out.HasMore {
		last := subs[limit-1]
		out.NextCursor = encodeTimeCursor(subscriptionCursorPrefix, last.CreatedAt, last.ID)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// countBefore returns how many of sorted, in subscription order, come
// before or at place.
func countBefore(sorted []webhook.Subscription, place subscriptionPlace) int {
	n, _ := slices.BinarySearchFunc(sorted, place, func(s webhook.Subscription, p subscriptionPlace) int {
		if c := placeOf(s).compare(p); c != 0 {
			return c
		}
		return -1 // the place itself was shown
	})
	return n
}

// visible returns every subscription of account ("" for every account)
// that the caller in ctx sees, all read by one watch of the bucket, which
// ends once it has sent what the bucket held when it began. A record that
// does not decode is logged and passed over. It fails with ErrUnavailable
// when the bucket cannot be read.
func (h *Subscriptions) visible(ctx context.Context, account string) ([]webhook.Subscription, error) {
	watch, err := h.store.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, unavailable("list subscriptions", err)
	}
	defer watch.Stop()
	var out []webhook.Subscription
	for {
		select {
		case <-ctx.Done():
			return nil, unavailable("list subscriptions", ctx.Err())
		case entry, ok := <-watch.Updates():
			switch {
			case !ok:
				return nil, unavailable("list subscriptions", errors.New("the watch of the bucket ended"))
			case entry == nil:
				return out, nil // everything the bucket held
			}
			sub, err := decodeSubscription(ctx, entry, h.cfg.Logger)
			if err == nil && (account == "" || sub.Owner() == account) {
				out = append(out, sub)
			}
		}
	}
}
