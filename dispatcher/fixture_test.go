package dispatcher

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/invoiced/invoiced/internal/infra/seal"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/invoiced/invoiced/internal/testing/statetest"
	"github.com/nats-io/nats.go/jetstream"
)

// fixture is a real JetStream server with every stream and bucket the
// dispatcher uses.
type fixture struct {
	js         jetstream.JetStream
	h          broker.Handles
	tasks      jetstream.Stream
	subs       jetstream.KeyValue
	deliveries jetstream.KeyValue
	// keys seals the subscriptions' secrets, as the service's key file
	// does.
	keys *seal.Keyring
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	srv := natstest.Start(t, natstest.Options{})
	_, js := natstest.Connect(t, srv)
	h := statetest.Streams(t, js, broker.Streams{DedupWindow: 100 * time.Millisecond})
	keys, err := seal.NewRandom()
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{js: js, h: h, tasks: h.Webhooks, subs: h.Subscriptions, deliveries: h.Deliveries, keys: keys}
}

// testSchedule retries fast: a test waits milliseconds, not minutes.
var testSchedule = webhook.Schedule{20 * time.Millisecond, 40 * time.Millisecond}

// start runs a dispatcher until the test ends.
func (f *fixture) start(t testing.TB, cfg Config) *Dispatcher {
	t.Helper()
	if cfg.Schedule == nil {
		cfg.Schedule = testSchedule
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.Targets.AllowPrivate = true // the receivers are on loopback
	cfg.UserAgent = "invoiced/test"
	if cfg.Secrets == nil {
		cfg.Secrets = f.keys
	}
	d, err := New(f.js, f.subs, f.deliveries, f.h.Ending(f.js), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = d.Stop(ctx)
	})
	return d
}

// subscribe stores an enabled subscription to url for types (all when
// none), its secret sealed, and returns it with the secret in the clear.
func (f *fixture) subscribe(t testing.TB, url string, types ...string) webhook.Subscription {
	t.Helper()
	secret, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if len(types) == 0 {
		types = webhook.EventTypes
	}
	now := time.Now().UTC().Add(-time.Minute)
	s := webhook.Subscription{
		ID: uuid.NewString(), URL: url, EventTypes: types, Status: webhook.StatusEnabled,
		Secrets: []webhook.Secret{{Value: secret, CreatedAt: now}}, CreatedAt: now, UpdatedAt: now,
	}
	f.putSubscription(t, s)
	return s
}

// putSubscription stores s with its secrets sealed, as the API does.
func (f *fixture) putSubscription(t testing.TB, s webhook.Subscription) {
	t.Helper()
	data, err := webhook.EncodeSubscription(s, f.keys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.subs.Put(context.Background(), s.ID, data); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) subscription(t testing.TB, id string) webhook.Subscription {
	t.Helper()
	entry, err := f.subs.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var s webhook.Subscription
	if err := json.Unmarshal(entry.Value(), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// invoiceEvents publishes an invoice's requested and processed events and
// returns them.
func (f *fixture) invoiceEvents(t testing.TB) []events.Event {
	t.Helper()
	id := uuid.NewString()
	req := events.NewRequested(events.Invoice{ID: id, CustomerID: "cust", AmountCents: 2500, Currency: "USD", CreatedAt: time.Now()},
		events.Idempotency{Caller: events.DefaultAccount, Endpoint: "POST /invoices", Key: id, RequestHash: "h"})
	out := []events.Event{req, events.NewProcessed(req.Invoice, time.Now())}
	for _, ev := range out {
		statetest.Publish(t, f.js, ev)
	}
	return out
}

// delivery reads delivery id to subscription subID: its live record, or
// its settled one; ok is false while it has neither.
func (f *fixture) delivery(t testing.TB, subID, id string) (webhook.Delivery, bool) {
	t.Helper()
	entry, err := f.deliveries.Get(context.Background(), id)
	if err != nil {
		d, ok, err := f.h.Ending(f.js).Settler.Settled(context.Background(), subID, id)
		if err != nil {
			t.Fatal(err)
		}
		return d, ok
	}
	var d webhook.Delivery
	if err := json.Unmarshal(entry.Value(), &d); err != nil {
		t.Fatal(err)
	}
	return d, true
}

// awaitDelivery waits until the delivery's status is want and returns it.
func (f *fixture) awaitDelivery(t testing.TB, eventID, subID, want string) webhook.Delivery {
	t.Helper()
	var d webhook.Delivery
	natstest.Eventually(t, 15*time.Second, "delivery "+want, func() bool {
		var ok bool
		d, ok = f.delivery(t, subID, webhook.DeliveryID(eventID, subID))
		return ok && d.Status == want
	})
	return d
}

// received is one request a receiver got.
type received struct {
	header http.Header
	body   []byte
}

// receiver is an httptest endpoint that answers with answer(n) for its
// n-th request (from 1) and records every request.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  []received
	hook func(n int, w http.ResponseWriter, r *http.Request)
}

func newReceiver(t testing.TB, hook func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{hook: hook}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{r.Header.Clone(), body})
		n := len(rc.got)
		rc.mu.Unlock()
		if rc.hook != nil {
			rc.hook(n, w, r)
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// firstTasks counts the first tasks of deliveries on the WEBHOOKS stream.
func (f *fixture) firstTasks(t testing.TB) uint64 {
	t.Helper()
	_, n := natstest.SubjectCounts(t, f.tasks, webhook.TaskSubject("*", "*"))
	return n
}
