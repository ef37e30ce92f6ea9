package api

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/invoiced/invoiced/internal/webhook"
	"github.com/nats-io/nats.go/jetstream"
)

// DeliveryIndex is the read model behind GET /webhooks/deliveries: for every
// delivery in the webhook_deliveries bucket, its ID, creation time, status,
// subscription and event type, newest first by (created_at, id). It holds no
// bodies or attempts: a page is read back from the bucket by ID.
//
// It is built by watching the bucket (see Follow), so a restart rebuilds
// it. It trails the bucket by the moment a watch update takes to arrive.
type DeliveryIndex struct {
	mu      sync.RWMutex
	entries []deliveryEntry          // ascending by (created, id), once loaded
	byID    map[string]deliveryEntry // every delivery, by ID
	intern  map[string]string        // one copy of each subscription ID, status, event type
	applied uint64                   // newest bucket revision applied
	loaded  chan struct{}            // closed when the initial values are in
	isReady bool
}

type deliveryEntry struct {
	created   int64 // unix nanoseconds, clamped
	id        string
	status    string
	sub       string
	eventType string
}

// compare orders e and o oldest first, by creation time and then ID.
func (e deliveryEntry) compare(o deliveryEntry) int {
	if c := cmp.Compare(e.created, o.created); c != 0 {
		return c
	}
	return cmp.Compare(e.id, o.id)
}

// DeliveryFilter selects deliveries; empty fields match all.
type DeliveryFilter struct {
	Status         string
	SubscriptionID string
	EventType      string
	// Since keeps deliveries created at or after it.
	Since time.Time
}

func (f DeliveryFilter) matches(e *deliveryEntry) bool {
	return (f.Status == "" || e.status == f.Status) &&
		(f.SubscriptionID == "" || e.sub == f.SubscriptionID) &&
		(f.EventType == "" || e.eventType == f.EventType)
}

// DeliveryCursor is a place in the delivery order: a page continues with the
// deliveries that sort after it, newest first. The zero cursor is the start.
type DeliveryCursor struct {
	CreatedAt time.Time
	ID        string
}

// IsZero reports whether c is the start of the list.
func (c DeliveryCursor) IsZero() bool { return c.ID == "" }

// NewDeliveryIndex returns an empty index that is not loaded yet.
func NewDeliveryIndex() *DeliveryIndex {
	return &DeliveryIndex{
		byID:   make(map[string]deliveryEntry),
		intern: make(map[string]string),
		loaded: make(chan struct{}),
	}
}

// DeliveryWatcher watches every key of a bucket; jetstream.KeyValue is one.
type DeliveryWatcher interface {
	WatchAll(ctx context.Context, opts ...jetstream.WatchOpt) (jetstream.KeyWatcher, error)
}

// Follow applies the bucket to the index, first every current value and then
// every change, until the returned stop is called; stop returns once the
// watch has ended. Call it once per index. log receives records that cannot
// be indexed; nil discards them. Follow fails when the watch cannot be
// started.
func (x *DeliveryIndex) Follow(ctx context.Context, kv DeliveryWatcher, log *slog.Logger) (stop func(), err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", webhook.BucketDeliveries, err)
	}
	done := make(chan struct{})
	var stopping atomic.Bool
	go func() {
		defer close(done)
		for entry := range w.Updates() {
			if err := x.apply(entry); err != nil {
				log.Warn("delivery index: record skipped", "err", err)
			}
		}
		if !stopping.Load() {
			log.Error("delivery index: the watch ended; the delivery list no longer follows the bucket")
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			stopping.Store(true)
			_ = w.Stop() // the updates channel closes once the watch has ended
			<-done
		})
	}, nil
}

// apply records one watch update; nil marks the end of the initial values.
func (x *DeliveryIndex) apply(entry jetstream.KeyValueEntry) error {
	if entry == nil {
		x.markLoaded()
		return nil
	}
	var e deliveryEntry
	var decodeErr error
	put := entry.Operation() == jetstream.KeyValuePut
	if put {
		var rec struct {
			Status         string    `json:"status"`
			SubscriptionID string    `json:"subscription_id"`
			EventType      string    `json:"event_type"`
			CreatedAt      time.Time `json:"created_at"`
		}
		if decodeErr = json.Unmarshal(entry.Value(), &rec); decodeErr == nil {
			e = deliveryEntry{created: unixNanos(rec.CreatedAt), id: entry.Key(),
				status: rec.Status, sub: rec.SubscriptionID, eventType: rec.EventType}
		} else {
			decodeErr = fmt.Errorf("delivery %s (revision %d): %w", entry.Key(), entry.Revision(), decodeErr)
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.applied = max(x.applied, entry.Revision())
	x.remove(entry.Key())
	if put && decodeErr == nil {
		x.insert(e)
	}
	return decodeErr
}

// remove drops the delivery id; the lock is held.
func (x *DeliveryIndex) remove(id string) {
	old, ok := x.byID[id]
	if !ok {
		return
	}
	delete(x.byID, id)
	if !x.isReady {
		return // entries are built when the initial values are in
	}
	if i, found := slices.BinarySearchFunc(x.entries, old, deliveryEntry.compare); found {
		x.entries = slices.Delete(x.entries, i, i+1)
	}
}

// insert adds e, which is not indexed; the lock is held. New deliveries are
// the newest, so they usually go at the end.
func (x *DeliveryIndex) insert(e deliveryEntry) {
	e.sub, e.status, e.eventType = x.share(e.sub), x.share(e.status), x.share(e.eventType)
	x.byID[e.id] = e
	if !x.isReady {
		return
	}
	i, _ := slices.BinarySearchFunc(x.entries, e, deliveryEntry.compare)
	x.entries = slices.Insert(x.entries, i, e)
}

// share returns the one copy of s the index keeps; the lock is held.
func (x *DeliveryIndex) share(s string) string {
	if c, ok := x.intern[s]; ok {
		return c
	}
	x.intern[s] = s
	return s
}

// markLoaded sorts the initial values, once.
func (x *DeliveryIndex) markLoaded() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.isReady {
		return
	}
	x.entries = make([]deliveryEntry, 0, len(x.byID))
	for _, e := range x.byID {
		x.entries = append(x.entries, e)
	}
	slices.SortFunc(x.entries, deliveryEntry.compare)
	x.isReady = true
	close(x.loaded)
}

// Loaded reports whether the bucket's values at the start of Follow have all
// been applied; until then pages are empty. A process is ready for
// /readyz only once it is.
func (x *DeliveryIndex) Loaded() bool {
	select {
	case <-x.loaded:
		return true
	default:
		return false
	}
}

// WaitLoaded blocks until Loaded. It fails with ErrUnavailable when ctx ends
// first.
func (x *DeliveryIndex) WaitLoaded(ctx context.Context) error {
	select {
	case <-x.loaded:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: the delivery log is loading", ErrUnavailable)
	}
}

// Applied returns the newest bucket revision the index has applied.
func (x *DeliveryIndex) Applied() uint64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.applied
}

// Len returns how many deliveries the index holds.
func (x *DeliveryIndex) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.byID)
}

// Page returns, newest first, the IDs of up to limit deliveries that match f
// and sort after the cursor after (the zero cursor for the newest), and the
// cursor of the next page: the last one returned, or the zero cursor when
// there are no more. A limit below 1 means 1. It finds its place by binary
// search, so a page costs the entries it skips over, not the whole index.
func (x *DeliveryIndex) Page(f DeliveryFilter, after DeliveryCursor, limit int) (ids []string, next DeliveryCursor) {
	limit = max(limit, 1)
	x.mu.RLock()
	defer x.mu.RUnlock()
	hi := len(x.entries)
	if !after.IsZero() {
		mark := deliveryEntry{created: unixNanos(after.CreatedAt), id: after.ID}
		hi, _ = slices.BinarySearchFunc(x.entries, mark, deliveryEntry.compare)
	}
	lo := 0
	if !f.Since.IsZero() {
		since := unixNanos(f.Since)
		lo = sort.Search(len(x.entries), func(i int) bool { return x.entries[i].created >= since })
	}
	for i := hi - 1; i >= lo; i-- {
		e := &x.entries[i]
		if !f.matches(e) {
			continue
		}
		if len(ids) == limit {
			return ids, next
		}
		ids = append(ids, e.id)
		next = DeliveryCursor{CreatedAt: time.Unix(0, e.created).UTC(), ID: e.id}
	}
	return ids, DeliveryCursor{}
}

// All returns, newest first, the IDs of every delivery that matches f.
func (x *DeliveryIndex) All(f DeliveryFilter) []string {
	var ids []string
	for after := (DeliveryCursor{}); ; {
		page, next := x.Page(f, after, 1000)
		ids = append(ids, page...)
		if next.IsZero() {
			return ids
		}
		after = next
	}
}

// unixNanos returns t in unix nanoseconds, clamped to what an int64 holds.
func unixNanos(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// deliveryCursorPrefix versions the opaque cursor format; it differs from
// the invoices' so neither list takes the other's cursor.
const deliveryCursorPrefix = "d1."

// encodeDeliveryCursor makes the opaque cursor that continues a list after c.
func encodeDeliveryCursor(c DeliveryCursor) string {
	raw := deliveryCursorPrefix + strconv.FormatInt(unixNanos(c.CreatedAt), 10) + "." + c.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// decodeDeliveryCursor reverses encodeDeliveryCursor; it fails with
// ErrInvalid for anything it did not make.
func decodeDeliveryCursor(s string) (DeliveryCursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		if rest, ok := strings.CutPrefix(string(raw), deliveryCursorPrefix); ok {
			digits, id, _ := strings.Cut(rest, ".")
			if n, err := strconv.ParseInt(digits, 10, 64); err == nil && id != "" {
				return DeliveryCursor{CreatedAt: time.Unix(0, n).UTC(), ID: id}, nil
			}
		}
	}
	return DeliveryCursor{}, invalidField("cursor", "is not a cursor this API returned")
}
