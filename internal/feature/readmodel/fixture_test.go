package readmodel_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/invoiced/invoiced/internal/testing/statetest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// fixture is a real JetStream server with every stream, and a read model
// in a file of its own that follows them.
type fixture struct {
	t     testing.TB
	js    jetstream.JetStream
	h     broker.Handles
	path  string
	store *readmodel.Store
	f     *readmodel.Follower
	n     int       // invoices requested so far
	logs  *captured // what the follower logs
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureWith(t, broker.Streams{})
}

// newFixtureWith is newFixture with the streams configured as streams says.
func newFixtureWith(t testing.TB, streams broker.Streams) *fixture {
	t.Helper()
	_, js := natstest.Connect(t, natstest.Start(t, natstest.Options{}))
	fx := &fixture{t: t, js: js, h: statetest.Streams(t, js, streams), path: filepath.Join(t.TempDir(), readmodel.FileName),
		logs: &captured{}}
	fx.open()
	return fx
}

// open opens the read model's file and follows the streams into it.
func (fx *fixture) open() {
	fx.t.Helper()
	store, err := readmodel.Open(fx.path)
	if err != nil {
		fx.t.Fatal(err)
	}
	f, err := store.Follow(context.Background(), fx.js, fx.h.Deliveries, slog.New(fx.logs))
	if err != nil {
		fx.t.Fatal(err)
	}
	fx.store, fx.f = store, f
	fx.t.Cleanup(fx.close)
}

// close stops following and closes the file; again is harmless.
func (fx *fixture) close() {
	if fx.store == nil {
		return
	}
	fx.f.Stop()
	if err := fx.store.Close(); err != nil {
		fx.t.Errorf("close: %v", err)
	}
	fx.store = nil
}

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// request publishes a new invoice of customer to INVOICES and returns it.
func (fx *fixture) request(customer string) events.Event {
	fx.t.Helper()
	fx.n++
	key := fmt.Sprintf("key-%d", fx.n)
	inv := events.Invoice{ID: events.InvoiceID("t", "POST /invoices", key), CustomerID: customer, AmountCents: int64(fx.n),
		Currency: "USD", CreatedAt: epoch.Add(time.Duration(fx.n) * time.Second)}
	ev := events.NewRequested(inv, events.Idempotency{Caller: "t", Endpoint: "POST /invoices", Key: key, RequestHash: "h"})
	fx.publish(ev)
	return ev
}

// publish stores ev on INVOICES, as the API and the processor do.
func (fx *fixture) publish(ev events.Event) uint64 {
	fx.t.Helper()
	data, err := events.Encode(ev)
	if err != nil {
		fx.t.Fatal(err)
	}
	return fx.publishRaw(ev.Subject(), data)
}

func (fx *fixture) publishRaw(subject string, data []byte) uint64 {
	fx.t.Helper()
	ack, err := fx.js.PublishMsg(context.Background(), &nats.Msg{Subject: subject, Data: data})
	if err != nil {
		fx.t.Fatalf("publish %s: %v", subject, err)
	}
	return ack.Sequence
}

// caughtUp waits until the read model holds every invoice event stored.
func (fx *fixture) caughtUp() {
	fx.t.Helper()
	fx.holdsAllOf(fx.h.Invoices)
}

// holdsAllOf waits until the read model holds, or has passed over,
// everything st stored so far. The deadline is long as the server, when it
// finds a source stalled under load, takes 10 s or more to copy again.
func (fx *fixture) holdsAllOf(st jetstream.Stream) {
	fx.t.Helper()
	info, err := st.Info(context.Background())
	if err != nil {
		fx.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := fx.store.WaitFor(ctx, info.Config.Name, info.State.LastSeq); err != nil {
		fx.t.Fatal(err)
	}
}

// delivery returns a delivery of event n to subscription sub, created n
// seconds after epoch, with attempts failed attempts.
func delivery(sub string, n int, status string, attempts int) webhook.Delivery {
	created := epoch.Add(time.Duration(n) * time.Second)
	d := webhook.Delivery{ID: webhook.DeliveryID(fmt.Sprintf("evt-%d", n), sub), SubscriptionID: sub,
		EventID: fmt.Sprintf("evt-%d", n), EventType: webhook.EventInvoiceCreated, InvoiceID: "inv", Status: status,
		Attempts: []webhook.Attempt{}, CreatedAt: created, UpdatedAt: created, Body: json.RawMessage(`{"n":1}`)}
	for i := range attempts {
		d.Attempts = append(d.Attempts, webhook.Attempt{Number: i + 1, Trigger: webhook.TriggerScheduled, StartedAt: created, HTTPStatus: 500})
	}
	return d
}

// live writes d to the bucket of live deliveries, as the dispatcher does.
func (fx *fixture) live(d webhook.Delivery) {
	fx.t.Helper()
	data, err := json.Marshal(d)
	if err != nil {
		fx.t.Fatal(err)
	}
	if _, err := fx.h.Deliveries.Put(context.Background(), d.ID, data); err != nil {
		fx.t.Fatal(err)
	}
}

// settle publishes d's settled record, as the dispatcher does.
func (fx *fixture) settle(d webhook.Delivery) {
	fx.t.Helper()
	if err := fx.h.Ending(fx.js).Settler.Finish(context.Background(), d, 0); err != nil {
		fx.t.Fatal(err)
	}
}

// holds waits until the read model holds d as it is; as long as holdsAllOf,
// as a settled record comes by a copy.
func (fx *fixture) holds(d webhook.Delivery) {
	fx.t.Helper()
	natstest.Eventually(fx.t, time.Minute, "the read model holds "+d.ID+" "+d.Status, func() bool {
		got, err := fx.store.Delivery(context.Background(), d.ID)
		return err == nil && !got.Newer(d) && !d.Newer(got)
	})
}
