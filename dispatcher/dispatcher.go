// Package dispatcher delivers webhooks: it fans each invoice event out to
// the subscriptions that want it, then delivers every task with Standard
// Webhooks signatures, durable retries on a schedule and an attempt log.
//
// Two durable consumers are shared by every dispatcher process: one on the
// INVOICES stream for fan-out, one on the WEBHOOKS stream for delivery.
// Retries wait in JetStream as scheduled messages, never in a sleeping
// goroutine nor as unacknowledged messages, so a restart loses none and a
// dead endpoint's backlog cannot fill the consumer; one subscription can
// hold at most MaxInFlightPerSubscription workers, so a slow endpoint cannot
// starve the others.
package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/consume"
	"github.com/invoiced/invoiced/internal/infra/netguard"
	"github.com/invoiced/invoiced/internal/infra/tracing"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"
)

// Durable consumer names.
const (
	FanOutConsumer   = "dispatcher-fanout"
	DeliveryConsumer = "dispatcher"
)

// Config holds the dispatcher's options.
type Config struct {
	// Workers is how many deliveries one process attempts at once; 0 means 64.
	Workers int
	// Timeout bounds one attempt; 0 means 15s.
	Timeout time.Duration
	// Schedule is the retry schedule; nil means webhook.DefaultSchedule.
	Schedule webhook.Schedule
	// DisableAfter disables a subscription that has failed for this long
	// without a single success; 0 means 120h.
	DisableAfter time.Duration
	// MaxInFlightPerSubscription caps the attempts one subscription has
	// under way in one process; 0 means 32.
	MaxInFlightPerSubscription int
	// MaxPending caps the tasks handed to workers and not yet settled;
	// 0 means 10,000.
	MaxPending int
	// UserAgent is sent with every attempt; "" means "invoiced".
	UserAgent string
	// Targets is where attempts may connect: checked on the address
	// actually dialed, after DNS. The zero Policy allows public addresses
	// only.
	Targets netguard.Policy
	// RequireHTTPS refuses to send to a plain-http URL.
	RequireHTTPS bool
	// Secrets opens the subscriptions' signing secrets for each attempt,
	// and seals them when the dispatcher writes a subscription. Required:
	// the keyring of the service's key file.
	Secrets webhook.SecretKeys
	// Client sends the attempts; nil means a client that follows no
	// redirects and dials only what Targets allows.
	Client *http.Client
	// Logger receives failures; nil discards them.
	Logger *slog.Logger
	// Observer is told of attempts, dead letters and disabled
	// subscriptions; nil tells no one.
	Observer Observer
	// Tracer makes the spans of fan-out and of each attempt, continuing
	// the trace of the event and sending it on to the receiver; nil
	// exports nothing, while the trace context still travels.
	Tracer trace.Tracer
	// Now and Rand stand in for the clock and the jitter source in tests.
	Now  func() time.Time
	Rand func() float64
}

// Validate reports the first invalid option.
func (c Config) Validate() error {
	if err := c.Targets.Validate(); err != nil {
		return fmt.Errorf("dispatcher: %w", err)
	}
	if c.Secrets == nil {
		return errors.New("dispatcher: Secrets is required: the keyring that opens the signing secrets")
	}
	if c.Workers < 0 || c.Timeout < 0 || c.DisableAfter < 0 || c.MaxInFlightPerSubscription < 0 || c.MaxPending < 0 {
		return errors.New("dispatcher: options must not be negative")
	}
	for _, d := range c.Schedule {
		if d <= 0 {
			return fmt.Errorf("dispatcher: retry delays must be positive, not %s", d)
		}
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Workers == 0 {
		c.Workers = 64
	}
	if c.Timeout == 0 {
		c.Timeout = 15 * time.Second
	}
	if c.Schedule == nil {
		c.Schedule, _ = webhook.ParseSchedule(webhook.DefaultSchedule)
	}
	if c.DisableAfter == 0 {
		c.DisableAfter = 120 * time.Hour
	}
	if c.MaxInFlightPerSubscription == 0 {
		c.MaxInFlightPerSubscription = 32
	}
	if c.MaxPending == 0 {
		c.MaxPending = 10_000
	}
	if c.UserAgent == "" {
		c.UserAgent = "invoiced"
	}
	if c.Client == nil {
		c.Client = &http.Client{
			Transport:     netguard.Transport(c.Targets, c.Timeout),
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Observer == nil {
		c.Observer = noObserver{}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	if c.Tracer == nil {
		c.Tracer = tracing.Off().Tracer()
	}
	return c
}

// JetStream is what the dispatcher needs of a JetStream context.
type JetStream interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
	OrderedConsumer(ctx context.Context, stream string, cfg jetstream.OrderedConsumerConfig) (jetstream.Consumer, error)
	Stream(ctx context.Context, name string) (jetstream.Stream, error)
	consume.Ensurer
}

// Store is the bucket of live deliveries: records created once, changed
// with compare-and-set, and listed to find leftovers; jetstream.KeyValue
// is one.
type Store interface {
	webhook.KV
	Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error)
	ListKeys(ctx context.Context, opts ...jetstream.WatchOpt) (jetstream.KeyLister, error)
}

// SubscriptionStore is the subscriptions bucket: watched, and updated when a
// subscription is disabled or its failure streak changes.
type SubscriptionStore interface {
	Watcher
	webhook.KV
}

// Dispatcher fans out invoice events and delivers webhooks.
type Dispatcher struct {
	js            JetStream
	subscriptions SubscriptionStore
	deliveries    Store
	cfg           Config
	ending        webhook.Ending
	invoices      webhook.LastReader // INVOICES, read for an ordered delivery's earlier event
	subs          *subscriptionCache
	watch         jetstream.KeyWatcher
	inFlight      *limiter
	pools         []*consume.Pool
	stopSweep     func()
	catchUps      catchUps
	// skipped counts the events and tasks terminated as not valid ones.
	skipped atomic.Uint64

	// afterEnqueue, when set, runs after each task of a fan-out is
	// published: tests use it to crash in the middle of one.
	afterEnqueue func()
}

// New returns a dispatcher that reads subscriptions from subscriptions,
// logs live deliveries in deliveries and settles them with ending, which
// also ends a disabled subscription's waiting retries, and publishes and
// consumes with js. It fails when cfg is invalid.
func New(js JetStream, subscriptions SubscriptionStore, deliveries Store, ending webhook.Ending, cfg Config) (*Dispatcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Dispatcher{
		js: js, subscriptions: subscriptions, deliveries: deliveries, cfg: cfg,
		ending: ending, inFlight: newLimiter(cfg.MaxInFlightPerSubscription),
	}, nil
}

// Skipped returns how many events and tasks the dispatcher has terminated
// as not valid ones.
func (d *Dispatcher) Skipped() uint64 { return d.skipped.Load() }

// fanOutWorkers is how many events one process fans out at once. A fan-out
// is a few publishes, each waiting for its group commit (a batch's disk
// sync), so it takes many at once to keep the stream busy.
const fanOutWorkers = 256

// FanOutConsumerConfig returns the durable consumer that fans events out.
func (d *Dispatcher) FanOutConsumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       FanOutConsumer,
		Description:   "invoiced dispatcher: invoice events to fan out to subscriptions",
		FilterSubject: events.AllSubjects,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxDeliver:    -1,
		MaxAckPending: 1024,
	}
}

// DeliveryConsumerConfig returns the durable consumer that delivers tasks.
func (d *Dispatcher) DeliveryConsumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:        DeliveryConsumer,
		Description:    "invoiced dispatcher: webhook deliveries",
		FilterSubjects: webhook.TaskFilters,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		// A task is pulled only when a worker is free to attempt it.
		AckWait:       d.cfg.Timeout + 30*time.Second,
		MaxDeliver:    -1,
		MaxAckPending: d.cfg.MaxPending,
	}
}

// Start loads the subscriptions, creates or updates both consumers and
// begins fanning out and delivering. It fails when any of that cannot be
// done before ctx ends.
func (d *Dispatcher) Start(ctx context.Context) error {
	invoices, err := d.js.Stream(ctx, events.StreamInvoices)
	if err != nil {
		return fmt.Errorf("dispatcher: stream %s: %w", events.StreamInvoices, err)
	}
	d.invoices = invoices
	d.catchUps.start()
	subs, watch, err := watchSubscriptions(ctx, d.subscriptions, d.cfg.Logger, d.catchUpLater)
	if err != nil {
		return fmt.Errorf("dispatcher: %w", err)
	}
	d.subs, d.watch = subs, watch
	d.startSweep()
	for _, c := range []struct {
		stream  string
		cfg     jetstream.ConsumerConfig
		handler consume.Handler
		workers int
	}{
		{webhook.StreamWebhooks, d.DeliveryConsumerConfig(), d.deliver, d.cfg.Workers},
		{events.StreamInvoices, d.FanOutConsumerConfig(), d.fanOut, fanOutWorkers},
	} {
		cons, err := consume.Ensure(ctx, d.js, c.stream, c.cfg)
		if err == nil {
			var pool *consume.Pool
			pool, err = consume.Start(cons, c.handler, consume.Options{
				Workers: c.workers, Logger: d.cfg.Logger,
				Backoff: consume.ExponentialBackoff(500*time.Millisecond, 30*time.Second),
			})
			d.pools = append(d.pools, pool)
		}
		if err != nil {
			_ = d.Stop(ctx)
			return fmt.Errorf("dispatcher: consumer %s: %w", c.cfg.Durable, err)
		}
	}
	return nil
}

// Stop stops fanning out and delivering, finishing the attempts under way,
// or until ctx ends; their tasks are then redelivered later.
func (d *Dispatcher) Stop(ctx context.Context) error {
	if d.stopSweep != nil {
		d.stopSweep()
	}
	var errs []error
	for i := len(d.pools) - 1; i >= 0; i-- {
		if d.pools[i] != nil {
			errs = append(errs, d.pools[i].Stop(ctx))
		}
	}
	if d.watch != nil {
		if err := d.watch.Stop(); err != nil && !watchGone(err) {
			errs = append(errs, err)
		}
	}
	d.catchUps.stop()
	return errors.Join(errs...)
}

// watchGone reports whether a watch failed to stop only because there is
// nothing left to stop, or nobody to tell: its consumer is ephemeral, so
// after a broker restart it may be gone already, and while NATS is away
// (the unsubscribe cannot be sent, or its answer never comes) the server
// drops it along with the connection.
func watchGone(err error) bool {
	for _, gone := range []error{
		jetstream.ErrConsumerNotFound, nats.ErrConsumerNotFound, nats.ErrReconnectBufExceeded,
		nats.ErrConnectionReconnecting, nats.ErrConnectionClosed, nats.ErrTimeout, context.DeadlineExceeded,
	} {
		if errors.Is(err, gone) {
			return true
		}
	}
	return false
}
