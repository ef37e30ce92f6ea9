package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/broker"
	"github.com/invoiced/invoiced/internal/natstest"
	"github.com/invoiced/invoiced/internal/netguard"
	"github.com/invoiced/invoiced/internal/webhook"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

// The API keys of the replayed requests, and how the ledger scopes
// idempotency keys.
const (
	oaKey        = "openapi-test-key"
	oaLimitedKey = "openapi-limited-key"
	oaEndpoint   = "POST /invoices"
)

// oaTargets lets subscriptions point at the loopback receiver, and nowhere
// else that is private.
var oaTargets = netguard.Policy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}

// oaServer names one of the handlers of an oaEnv.
type oaServer int

const (
	oaMain    oaServer = iota // every resource; oaKey required
	oaLimited                 // oaLimitedKey, its rate spent
	oaBroken                  // every resource on a closed NATS connection
	oaCorrupt                 // oaMain of another server, with unreadable records
)

func (s oaServer) String() string {
	return [...]string{"main", "limited", "broken", "corrupt"}[s]
}

// oaEnv is the whole API served over HTTP, backed by a real JetStream
// server, through several handlers that share it.
type oaEnv struct {
	js         jetstream.JetStream
	tasks      jetstream.Stream
	subs       jetstream.KeyValue
	deliveries jetstream.KeyValue
	index      *api.Index
	dIndex     *api.DeliveryIndex
	servers    map[oaServer]*httptest.Server
}

type oaEnvOptions struct {
	limited bool // serve oaLimited
	broken  bool // serve oaBroken
}

func newOAEnv(t testing.TB, o oaEnvOptions) *oaEnv {
	t.Helper()
	srv := natstest.Start(t, natstest.Options{})
	_, js := natstest.Connect(t, srv)
	e := &oaEnv{js: js, servers: map[oaServer]*httptest.Server{}}
	e.ensureStreams(t)
	e.followIndexes(t)
	e.servers[oaMain] = oaServe(t, e.resources(t, js, oaAuth(t, oaKey, 0)))
	if o.limited {
		e.serveLimited(t)
	}
	if o.broken {
		e.serveBroken(t, srv)
	}
	return e
}

// ensureStreams creates the streams and buckets the service uses.
func (e *oaEnv) ensureStreams(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	var err error
	streams := broker.Streams{}
	if _, err = broker.EnsureStream(ctx, e.js, streams.InvoiceStreamConfig()); err != nil {
		t.Fatalf("invoices stream: %v", err)
	}
	if e.tasks, err = broker.EnsureStream(ctx, e.js, streams.WebhookStreamConfig()); err != nil {
		t.Fatalf("webhooks stream: %v", err)
	}
	if e.subs, err = broker.EnsureKeyValue(ctx, e.js, streams.SubscriptionsBucketConfig()); err != nil {
		t.Fatalf("subscriptions bucket: %v", err)
	}
	if e.deliveries, err = broker.EnsureKeyValue(ctx, e.js, streams.DeliveriesBucketConfig()); err != nil {
		t.Fatalf("deliveries bucket: %v", err)
	}
}

// followIndexes starts the invoice and delivery indexes, and waits for the
// delivery index to load.
func (e *oaEnv) followIndexes(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	e.index = api.NewIndex()
	stop, err := e.index.Follow(ctx, e.js, discardLog())
	if err != nil {
		t.Fatalf("follow invoices: %v", err)
	}
	t.Cleanup(stop)
	e.dIndex = api.NewDeliveryIndex()
	stopD, err := e.dIndex.Follow(ctx, e.deliveries, discardLog())
	if err != nil {
		t.Fatalf("follow deliveries: %v", err)
	}
	t.Cleanup(stopD)
	natstest.Eventually(t, 5*time.Second, "delivery index loaded", e.dIndex.Loaded)
}

// serveLimited serves oaLimited, and spends its rate.
func (e *oaEnv) serveLimited(t testing.TB) {
	t.Helper()
	e.servers[oaLimited] = oaServe(t, e.resources(t, e.js, oaAuth(t, oaLimitedKey, 1e-3)))
	r := oaSend(t, e.servers[oaLimited], oaCase{method: http.MethodGet, path: "/webhooks/subscriptions", auth: "Bearer " + oaLimitedKey})
	if r.status != http.StatusOK {
		t.Fatalf("spending the rate: %d %s", r.status, r.body)
	}
}

// serveBroken serves oaBroken, on a connection to srv it then closes.
func (e *oaEnv) serveBroken(t testing.TB, srv *server.Server) {
	t.Helper()
	nc, js2 := natstest.Connect(t, srv)
	res := e.resources(t, js2, oaAuth(t, oaKey, 0))
	nc.Close()
	e.servers[oaBroken] = oaServe(t, res)
}

// resources returns every resource of the API, reaching JetStream through
// js; auth guards them.
func (e *oaEnv) resources(t testing.TB, js jetstream.JetStream, auth *api.Auth) api.Resources {
	t.Helper()
	ctx := context.Background()
	invoices, err := js.Stream(ctx, events.StreamInvoices)
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := js.Stream(ctx, webhook.StreamWebhooks)
	if err != nil {
		t.Fatal(err)
	}
	subs, err := js.KeyValue(ctx, webhook.BucketSubscriptions)
	if err != nil {
		t.Fatal(err)
	}
	deliveries, err := js.KeyValue(ctx, webhook.BucketDeliveries)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := api.NewInvoices(api.NewLedger(js, invoices), e.index, invoices, api.InvoicesConfig{Logger: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := api.NewSubscriptions(subs, webhook.Ending{Tasks: tasks, Deliveries: deliveries},
		api.SubscriptionsConfig{Targets: oaTargets, Logger: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	dl, err := api.NewDeliveries(e.dIndex, deliveries, subs, js, api.DeliveriesConfig{Logger: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	return api.Resources{
		Health: api.NewHealth(func(ctx context.Context) error {
			_, err := invoices.Info(ctx)
			return err
		}),
		Invoices: inv, Subscriptions: sub, Deliveries: dl, Auth: auth, Logger: discardLog(),
	}
}

// oaAuth accepts key alone, rate limited when rate is not 0.
func oaAuth(t testing.TB, key string, rate float64) *api.Auth {
	t.Helper()
	burst := 0
	if rate != 0 {
		burst = 1
	}
	a, err := api.NewAuth([]string{key}, api.AuthConfig{RateLimit: rate, RateBurst: burst})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func oaServe(t testing.TB, res api.Resources) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(api.NewHandler(res))
	t.Cleanup(srv.Close)
	return srv
}
