// Package app wires invoiced's roles together: it starts the embedded
// JetStream server or connects to NATS, creates the streams, starts the
// roles a process runs and serves HTTP, and stops all of it gracefully.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/dispatcher"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/feature/console"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/invoiced/invoiced/internal/infra/config"
	"github.com/invoiced/invoiced/internal/infra/groupcommit"
	"github.com/invoiced/invoiced/internal/infra/metrics"
	"github.com/invoiced/invoiced/internal/infra/seal"
	"github.com/invoiced/invoiced/internal/infra/serving"
	"github.com/invoiced/invoiced/internal/infra/tracing"
	"github.com/invoiced/invoiced/processor"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Service is one running invoiced process.
type Service struct {
	cfg         config.Serve
	log         *slog.Logger
	nats        *broker.Session
	nc          *nats.Conn // nats.Conn, for short
	js          jetstream.JetStream
	grouped     *groupcommit.JetStream // the processor's, the dispatcher's, the compactor's
	apiGrouped  *groupcommit.JetStream // the API's: grouped unless other roles share the process
	apiJS       jetstream.JetStream
	handles     broker.Handles
	proc        *processor.Processor
	disp        *dispatcher.Dispatcher
	compactor   *broker.Compactor
	auth        *api.Auth
	secrets     *seal.Keyring // seals and opens webhook signing secrets; nil without the api or dispatcher role
	model       *readmodel.Store
	follower    *readmodel.Follower
	console     *console.Console // nil without the api role
	http        *http.Server
	handler     atomic.Pointer[http.Handler] // what http answers with: the start's, then the service's
	starting    *serving.Start               // what Start waits for, which /readyz says until it is done
	ln          net.Listener
	pprof       *serving.Side
	metrics     *metrics.Metrics
	metricsSide *serving.Side
	tracing     *tracing.Tracing
	served      chan error
	stopOnce    sync.Once
	stopErr     error
}

// Start brings up a service as cfg says and returns once it serves the API.
// It takes the HTTP address first and, until it returns, answers there
// /healthz and, with 503 and what it waits for, /readyz. It fails when the
// store, NATS, the streams or the listen address cannot be had, or ctx ends
// while it waits for them; what it started by then is stopped again.
func Start(ctx context.Context, cfg config.Serve, log *slog.Logger) (_ *Service, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, log: log, served: make(chan error, 1), metrics: metrics.New(), starting: serving.NewStart()}
	tc := cfg.Tracing
	tc.Version, tc.Roles = config.BuildVersion(), strings.Join(cfg.Roles, ",")
	if s.tracing, err = tracing.New(tc, log); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
			defer cancel()
			_ = s.shutdown(stopCtx)
		}
	}()
	if cfg.NeedsSecretsKey() {
		if s.secrets, err = cfg.OpenSecretsKeys(log); err != nil {
			return nil, err
		}
	}
	if err := s.listen(); err != nil {
		return nil, err
	}
	if err := s.connect(); err != nil {
		return nil, err
	}
	if err := s.setup(ctx); err != nil {
		return nil, err
	}
	if cfg.Has(config.RoleAPI) {
		if err := s.sealStoredSecrets(ctx); err != nil {
			return nil, err
		}
	}
	if err := s.startRoles(ctx); err != nil {
		return nil, err
	}
	s.compactor = broker.StartCompactor(s.js, broker.Compaction{
		Streams:       s.cfg.Streams(),
		InvoicesAfter: cfg.InvoicesAfter(),
		Processor:     processor.ConsumerName,
		FanOut:        dispatcher.FanOutConsumer,
		Delivery:      dispatcher.DeliveryConsumer,
		Logger:        log,
	})
	if err := s.serve(); err != nil {
		return nil, err
	}
	s.starting.Finish()
	return s, nil
}

// connect starts the embedded server when there is no NATS URL, and
// connects.
func (s *Service) connect() error {
	s.starting.WaitFor("NATS at " + s.cfg.NATSWhere())
	cfg := broker.SessionConfig{URL: s.cfg.NATSURL, Auth: s.cfg.NATSAuth.Broker(), Name: "invoiced", Logger: s.log}
	if s.cfg.Embedded() {
		cfg.Embedded = &broker.Embedded{StoreDir: s.cfg.Data, Listen: s.cfg.NATSListen,
			SyncAlways: s.cfg.Fsync == config.FsyncAlways, Logger: s.log}
		cfg.Locked = s.cfg.BrokerLocked()
	}
	var err error
	if s.nats, err = broker.Open(cfg); err != nil {
		return err
	}
	s.nc = s.nats.Conn
	js, err := jetstream.New(s.nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	return s.group(s.nc, js)
}

// setup creates or updates the streams, retrying while NATS is unreachable
// or JetStream temporarily unavailable (logged at once, then every
// waitLogInterval); a refusal of the configuration fails at once.
func (s *Service) setup(ctx context.Context) error {
	streams := s.cfg.Streams()
	if err := streams.Validate(); err != nil {
		return err
	}
	s.starting.WaitFor("JetStream at " + s.cfg.NATSWhere())
	stopReports := serving.Every(ctx, waitLogInterval, s.logWaiting)
	defer stopReports()
	first := true
	h, err := streams.EnsureWhenReady(ctx, s.js, s.nc, func(err error) {
		s.starting.Failed(err)
		if first {
			s.logWaiting()
			first = false
		}
	})
	if err != nil {
		return err
	}
	s.handles = h
	s.starting.WaitFor("the roles to start")
	return nil
}

// ending returns what ends and settles deliveries.
func (s *Service) ending() webhook.Ending { return s.handles.Ending(s.js) }

// startRoles starts the processor and the dispatcher, for the roles this
// process runs; the api role is started by serve.
func (s *Service) startRoles(ctx context.Context) error {
	if s.cfg.Has(config.RoleProcessor) {
		proc, err := processor.New(s.js, s.handles.Invoices, processor.Config{
			Workers:        s.cfg.ProcessWorkers,
			MaxAmountCents: s.cfg.MaxAmountCents,
			Delay:          s.cfg.ProcessDelay,
			Logger:         s.log.With("role", config.RoleProcessor),
			Tracer:         s.tracing.Tracer(),
		})
		if err != nil {
			return err
		}
		if err := proc.Start(ctx); err != nil {
			return err
		}
		s.proc = proc
	}
	if s.cfg.Has(config.RoleDispatcher) {
		disp, err := dispatcher.New(s.js, s.handles.Subscriptions, s.handles.Deliveries, s.ending(), dispatcher.Config{
			Workers:                    s.cfg.DeliveryWorkers,
			Timeout:                    s.cfg.WebhookTimeout,
			Schedule:                   s.cfg.WebhookRetrySchedule,
			DisableAfter:               s.cfg.WebhookDisableAfter,
			MaxInFlightPerSubscription: s.cfg.WebhookMaxInFlight,
			Targets:                    s.cfg.WebhookTargets(),
			RequireHTTPS:               s.cfg.WebhookRequireHTTPS,
			Secrets:                    s.secrets,
			UserAgent:                  "invoiced/" + config.BuildVersion(),
			Logger:                     s.log.With("role", config.RoleDispatcher),
			Observer:                   s.metrics,
			Tracer:                     s.tracing.Tracer(),
		})
		if err != nil {
			return err
		}
		if err := disp.Start(ctx); err != nil {
			return err
		}
		s.disp = disp
	}
	return nil
}

// NATSURL returns the URL TCP clients reach NATS at, or "" when the
// embedded server listens for none.
func (s *Service) NATSURL() string {
	if s.nats == nil {
		return s.cfg.NATSURL
	}
	return s.nats.URL()
}

// Done returns a channel that yields the HTTP server's error if it stops
// serving on its own.
func (s *Service) Done() <-chan error { return s.served }

// Shutdown stops gracefully: it stops accepting requests and finishes those
// in flight, lets the processor finish the invoices in hand, drains the NATS
// connection and stops the embedded server. When ctx ends first, what is
// left is cut off and ctx's error returned; nothing acknowledged is lost,
// since unacknowledged messages are redelivered. Later calls return the
// first one's result.
func (s *Service) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { s.stopErr = s.shutdown(ctx) })
	return s.stopErr
}

func (s *Service) shutdown(ctx context.Context) error {
	var errs []error
	if s.http != nil {
		errs = append(errs, s.http.Shutdown(ctx))
	}
	errs = append(errs, s.pprof.Shutdown(ctx), s.metricsSide.Shutdown(ctx))
	errs = append(errs, s.close(ctx))
	return errors.Join(errs...)
}

// close stops the processor, releases the connection and stops the embedded
// server, cutting the connection's drain short when ctx ends.
func (s *Service) close(ctx context.Context) error {
	var errs []error
	if s.disp != nil {
		errs = append(errs, s.disp.Stop(ctx))
	}
	if s.proc != nil {
		errs = append(errs, s.proc.Stop(ctx))
	}
	if s.compactor != nil {
		s.compactor.Stop()
	}
	if s.console != nil {
		s.console.Stop()
	}
	if s.follower != nil {
		s.follower.Stop()
	}
	if s.model != nil {
		errs = append(errs, s.model.Close())
	}
	if s.apiGrouped != nil && s.apiGrouped != s.grouped {
		s.apiGrouped.Close()
	}
	if s.grouped != nil {
		s.grouped.Close()
	}
	if s.nats != nil {
		s.nats.Close(ctx)
	}
	errs = append(errs, s.tracing.Shutdown(ctx))
	return errors.Join(errs...)
}
