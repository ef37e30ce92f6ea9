package api_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/internal/natstest"
	"github.com/invoiced/invoiced/internal/webhook"
	"github.com/nats-io/nats.go/jetstream"
)

// fakeEntry is one watch update.
type fakeEntry struct {
	key   string
	value []byte
	rev   uint64
	op    jetstream.KeyValueOp
}

func (e fakeEntry) Bucket() string                  { return webhook.BucketDeliveries }
func (e fakeEntry) Key() string                     { return e.key }
func (e fakeEntry) Value() []byte                   { return e.value }
func (e fakeEntry) Revision() uint64                { return e.rev }
func (e fakeEntry) Created() time.Time              { return time.Time{} }
func (e fakeEntry) Delta() uint64                   { return 0 }
func (e fakeEntry) Operation() jetstream.KeyValueOp { return e.op }

// fakeBucket feeds a DeliveryIndex the updates a test sends, as a watch of
// the bucket would.
type fakeBucket struct {
	updates chan jetstream.KeyValueEntry
	once    sync.Once
	rev     uint64
	index   *api.DeliveryIndex
}

func (b *fakeBucket) WatchAll(context.Context, ...jetstream.WatchOpt) (jetstream.KeyWatcher, error) {
	return b, nil
}
func (b *fakeBucket) Updates() <-chan jetstream.KeyValueEntry { return b.updates }
func (b *fakeBucket) Stop() error {
	b.once.Do(func() { close(b.updates) })
	return nil
}

// newFakeBucket returns a bucket an index follows until the test ends.
func newFakeBucket(t testing.TB) *fakeBucket {
	t.Helper()
	b := &fakeBucket{updates: make(chan jetstream.KeyValueEntry, 1024), index: api.NewDeliveryIndex()}
	stop, err := b.index.Follow(context.Background(), b, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return b
}

// put sends a put of a record with these fields and returns its revision.
func (b *fakeBucket) put(t testing.TB, id, status, sub, eventType string, created time.Time) uint64 {
	t.Helper()
	data, err := json.Marshal(webhook.Delivery{ID: id, Status: status, SubscriptionID: sub, EventType: eventType, CreatedAt: created})
	if err != nil {
		t.Fatal(err)
	}
	return b.send(&fakeEntry{key: id, value: data, op: jetstream.KeyValuePut})
}

// send sends one update with the next revision, or the end of the initial
// values for nil.
func (b *fakeBucket) send(e *fakeEntry) uint64 {
	if e == nil {
		b.updates <- nil
		return b.rev
	}
	b.rev++
	e.rev = b.rev
	b.updates <- *e
	return b.rev
}

// settle waits until the index has applied every update sent.
func (b *fakeBucket) settle(t testing.TB) {
	t.Helper()
	natstest.Eventually(t, 10*time.Second, "index applies every update", func() bool { return b.index.Applied() >= b.rev })
}

// row is what the test knows of one delivery, to compute expected pages.
type row struct {
	id, status, sub, eventType string
	created                    time.Time
}

func TestDeliveryIndexPagesOf100000(t *testing.T) {
	const n = 100_000
	b := newFakeBucket(t)
	rnd := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	subs := []string{"sub-a", "sub-b", "sub-c", "sub-d"}
	rows := make(map[string]row, n)
	// The initial values arrive in revision order, not creation order, and
	// pairs share a creation time.
	for _, i := range rnd.Perm(n) {
		r := row{id: fmt.Sprintf("d-%06d", i), status: webhook.DeliveryStatuses[rnd.IntN(4)], sub: subs[i%len(subs)],
			eventType: webhook.EventTypes[i%3], created: base.Add(time.Duration(i/2) * time.Millisecond)}
		rows[r.id] = r
		b.put(t, r.id, r.status, r.sub, r.eventType, r.created)
	}
	if b.index.Loaded() {
		t.Fatal("loaded before the end of the initial values")
	}
	b.send(nil)
	// Then changes: new deliveries, status changes and deletes.
	for i := n; i < n+50; i++ {
		r := row{id: fmt.Sprintf("d-%06d", i), status: webhook.DeliveryPending, sub: "sub-a",
			eventType: webhook.EventInvoiceCreated, created: base.Add(time.Duration(i/2) * time.Millisecond)}
		rows[r.id] = r
		b.put(t, r.id, r.status, r.sub, r.eventType, r.created)
	}
	for i := 0; i < n; i += 997 {
		r := rows[fmt.Sprintf("d-%06d", i)]
		r.status = webhook.DeliveryDead
		rows[r.id] = r
		b.put(t, r.id, r.status, r.sub, r.eventType, r.created)
	}
	for i := 5; i < n; i += 1009 {
		id := fmt.Sprintf("d-%06d", i)
		delete(rows, id)
		op := jetstream.KeyValueDelete
		if i%2 == 0 {
			op = jetstream.KeyValuePurge
		}
		b.send(&fakeEntry{key: id, op: op})
	}
	b.settle(t)
	if !b.index.Loaded() || b.index.Len() != len(rows) {
		t.Fatalf("loaded %v, %d deliveries, want %d", b.index.Loaded(), b.index.Len(), len(rows))
	}

	tests := []struct {
		name string
		f    api.DeliveryFilter
	}{
		{"all", api.DeliveryFilter{}},
		{"dead", api.DeliveryFilter{Status: webhook.DeliveryDead}},
		{"subscription and type", api.DeliveryFilter{SubscriptionID: "sub-c", EventType: webhook.EventInvoiceFailed}},
		{"since", api.DeliveryFilter{Status: webhook.DeliveryFailing, SubscriptionID: "sub-b", Since: base.Add(49_000 * time.Millisecond)}},
		{"no match", api.DeliveryFilter{SubscriptionID: "sub-z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := expectedOrder(rows, tt.f)
			// Pages from the start, from a cursor in the middle, and the last.
			for _, start := range []int{0, len(want) / 2, max(len(want)-7, 0)} {
				var after api.DeliveryCursor
				if start > 0 {
					prev := rows[want[start-1]]
					after = api.DeliveryCursor{CreatedAt: prev.created, ID: prev.id}
				}
				got, next := b.index.Page(tt.f, after, 20)
				end := min(start+20, len(want))
				if !slices.Equal(got, want[start:end]) {
					t.Fatalf("page at %d: %v\nwant %v", start, got, want[start:end])
				}
				if more := end < len(want); more != !next.IsZero() || (more && next.ID != want[end-1]) {
					t.Fatalf("page at %d: next %+v, want more=%v after %s", start, next, more, want[end-1])
				}
			}
		})
	}
	t.Run("every page of a filter", func(t *testing.T) {
		f := api.DeliveryFilter{SubscriptionID: "sub-d", Status: webhook.DeliveryDelivered}
		if got, want := b.index.All(f), expectedOrder(rows, f); !slices.Equal(got, want) {
			t.Fatalf("%d ids, want %d", len(got), len(want))
		}
	})
}

// expectedOrder returns the IDs of the rows that match f, newest first,
// computed the slow way.
func expectedOrder(rows map[string]row, f api.DeliveryFilter) []string {
	var match []row
	for _, r := range rows {
		if (f.Status == "" || r.status == f.Status) && (f.SubscriptionID == "" || r.sub == f.SubscriptionID) &&
			(f.EventType == "" || r.eventType == f.EventType) && !r.created.Before(f.Since) {
			match = append(match, r)
		}
	}
	slices.SortFunc(match, func(a, b row) int {
		if c := b.created.Compare(a.created); c != 0 {
			return c
		}
		return cmp.Compare(b.id, a.id)
	})
	ids := make([]string, len(match))
	for i, r := range match {
		ids[i] = r.id
	}
	return ids
}

func TestDeliveryIndexUpdates(t *testing.T) {
	b := newFakeBucket(t)
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	b.put(t, "a", webhook.DeliveryPending, "s", webhook.EventInvoiceCreated, base)
	b.send(&fakeEntry{key: "a", op: jetstream.KeyValueDelete}) // deleted before the end of the initial values
	b.put(t, "b", webhook.DeliveryPending, "s", webhook.EventInvoiceCreated, base.Add(time.Second))
	b.send(nil)
	b.put(t, "c", webhook.DeliveryPending, "s", webhook.EventInvoiceCreated, base.Add(-time.Second)) // older, arrives later
	b.put(t, "b", webhook.DeliveryFailing, "s", webhook.EventInvoiceCreated, base.Add(time.Second))
	b.send(&fakeEntry{key: "c", value: []byte("{not json"), op: jetstream.KeyValuePut})
	b.put(t, "d", webhook.DeliveryDead, "s", webhook.EventInvoiceCreated, base.Add(-time.Minute))
	b.settle(t)

	tests := []struct {
		name string
		f    api.DeliveryFilter
		want []string
	}{
		{"all", api.DeliveryFilter{}, []string{"b", "d"}},
		{"old status gone", api.DeliveryFilter{Status: webhook.DeliveryPending}, nil},
		{"new status", api.DeliveryFilter{Status: webhook.DeliveryFailing}, []string{"b"}},
		{"since", api.DeliveryFilter{Since: base}, []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := b.index.All(tt.f); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDeliveriesWaitForTheInitialValues(t *testing.T) {
	b := newFakeBucket(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.index.WaitLoaded(ctx); !errors.Is(err, api.ErrUnavailable) || b.index.Loaded() {
		t.Fatalf("WaitLoaded before the initial values: %v", err)
	}
	dl, err := api.NewDeliveries(b.index, nil, nil, nil, api.DeliveriesConfig{RequestTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h := api.NewHandler(api.Resources{Deliveries: dl})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/webhooks/deliveries", nil))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("list while loading: %d %s", rec.Code, rec.Body)
	}

	b.send(nil)
	if err := b.index.WaitLoaded(context.Background()); err != nil || !b.index.Loaded() {
		t.Fatalf("after the initial values: %v", err)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/webhooks/deliveries", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != `{"data":[],"has_more":false}` {
		t.Fatalf("list when loaded: %d %s", rec.Code, rec.Body)
	}
}

func TestDeliveriesConfig(t *testing.T) {
	if _, err := api.NewDeliveries(api.NewDeliveryIndex(), nil, nil, nil, api.DeliveriesConfig{RequestTimeout: -time.Second}); err == nil {
		t.Fatal("a negative request timeout was accepted")
	}
}
