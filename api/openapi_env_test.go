package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/invoiced/invoiced/internal/infra/netguard"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/invoiced/invoiced/internal/testing/statetest"
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
	oaFull                    // oaMain of a server whose JetStream storage is used up
)

func (s oaServer) String() string {
	return [...]string{"main", "limited", "broken", "corrupt", "full"}[s]
}

// oaEnv is the whole API served over HTTP, backed by a real JetStream
// server, through several handlers that share it.
type oaEnv struct {
	js         jetstream.JetStream
	h          broker.Handles
	tasks      jetstream.Stream
	subs       jetstream.KeyValue
	deliveries jetstream.KeyValue
	model      *readmodel.Store
	lag        *readmodel.Follower
	servers    map[oaServer]*httptest.Server
}

type oaEnvOptions struct {
	limited bool // serve oaLimited
	broken  bool // serve oaBroken
	// maxStore, when not 0, is all the file storage JetStream may use.
	maxStore int64
}

func newOAEnv(t testing.TB, o oaEnvOptions) *oaEnv {
	t.Helper()
	srv := natstest.Start(t, natstest.Options{MaxStore: o.maxStore})
	_, js := natstest.Connect(t, srv)
	e := &oaEnv{js: js, servers: map[oaServer]*httptest.Server{}}
	e.h = statetest.Streams(t, js, broker.Streams{})
	e.tasks, e.subs, e.deliveries = e.h.Webhooks, e.h.Subscriptions, e.h.Deliveries
	e.model, e.lag = statetest.Model(t, js, e.h)
	e.servers[oaMain] = oaServe(t, e.resources(t, js, e.model, oaAuth(t, oaKey, 0)))
	if o.limited {
		e.serveLimited(t)
	}
	if o.broken {
		e.serveBroken(t, srv)
	}
	return e
}

// serveLimited serves oaLimited, and spends its rate.
func (e *oaEnv) serveLimited(t testing.TB) {
	t.Helper()
	e.servers[oaLimited] = oaServe(t, e.resources(t, e.js, e.model, oaAuth(t, oaLimitedKey, 1e-3)))
	r := oaSend(t, e.servers[oaLimited], oaCase{method: http.MethodGet, path: "/webhooks/subscriptions", auth: "Bearer " + oaLimitedKey})
	if r.status != http.StatusOK {
		t.Fatalf("spending the rate: %d %s", r.status, r.body)
	}
}

// serveBroken serves oaBroken, on a connection to srv it then closes and
// a read model it closes too.
func (e *oaEnv) serveBroken(t testing.TB, srv *server.Server) {
	t.Helper()
	nc, js2 := natstest.Connect(t, srv)
	model, err := readmodel.Open(filepath.Join(t.TempDir(), readmodel.FileName))
	if err != nil {
		t.Fatal(err)
	}
	res := e.resources(t, js2, model, oaAuth(t, oaKey, 0))
	nc.Close()
	model.Close()
	e.servers[oaBroken] = oaServe(t, res)
}

// resources returns every resource of the API, reaching JetStream through
// js and reading model; auth guards them.
func (e *oaEnv) resources(t testing.TB, js jetstream.JetStream, model *readmodel.Store, auth *api.Auth) api.Resources {
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
	live, err := js.Stream(ctx, webhook.LiveStream)
	if err != nil {
		t.Fatal(err)
	}
	ledger := api.NewLedger(js, invoices, model, e.lag, time.Minute)
	inv, err := api.NewInvoices(ledger, api.InvoicesConfig{Logger: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := api.NewEvents(ledger, model, api.EventsConfig{Logger: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	h := broker.Handles{Webhooks: tasks, Deliveries: deliveries, LiveDeliveries: live}
	sub, err := api.NewSubscriptions(subs, h.Ending(js), api.SubscriptionsConfig{Targets: oaTargets, Secrets: newKeyring(t), Logger: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	dl, err := api.NewDeliveries(model, subs, js, api.DeliveriesConfig{Logger: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	return api.Resources{
		Health: api.NewHealth(func(ctx context.Context) error {
			_, err := invoices.Info(ctx)
			return err
		}),
		Invoices: inv, Subscriptions: sub, Deliveries: dl, Events: evs, Auth: auth, Logger: discardLog(),
	}
}

// oaAuth accepts key alone, rate limited when rate is not 0. Its budget of
// failed authentications outlasts the cases, which all come from one
// address.
func oaAuth(t testing.TB, key string, rate float64) *api.Auth {
	t.Helper()
	burst := 0
	if rate != 0 {
		burst = 1
	}
	a, err := api.NewAuth([]api.Key{{Secret: key}}, api.AuthConfig{RateLimit: rate, RateBurst: burst, FailureBurst: 1 << 20})
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
