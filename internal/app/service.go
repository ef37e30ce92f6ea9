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
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/dispatcher"
	"github.com/invoiced/invoiced/internal/broker"
	"github.com/invoiced/invoiced/internal/config"
	"github.com/invoiced/invoiced/internal/groupcommit"
	"github.com/invoiced/invoiced/internal/jserr"
	"github.com/invoiced/invoiced/internal/metrics"
	"github.com/invoiced/invoiced/internal/readmodel"
	"github.com/invoiced/invoiced/internal/seal"
	"github.com/invoiced/invoiced/internal/webhook"
	"github.com/invoiced/invoiced/processor"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Service is one running invoiced process.
type Service struct {
	cfg          config.Serve
	log          *slog.Logger
	embedded     *server.Server
	embeddedAuth broker.Auth // how clients sign in to embedded: none, or its user's seed
	nc           *nats.Conn
	ncClosed     chan struct{}
	js           jetstream.JetStream
	grouped      *groupcommit.JetStream // the processor's, the dispatcher's, the compactor's
	apiGrouped   *groupcommit.JetStream // the API's: grouped unless other roles share the process
	apiJS        jetstream.JetStream
	handles      broker.Handles
	proc         *processor.Processor
	disp         *dispatcher.Dispatcher
	compactor    *broker.Compactor
	auth         *api.Auth
	secrets      *seal.Keyring // seals and opens webhook signing secrets; nil without the api or dispatcher role
	model        *readmodel.Store
	follower     *readmodel.Follower
	http         *http.Server
	handler      atomic.Pointer[http.Handler] // what http answers with: the start's, then the service's
	starting     *startState                  // what Start waits for, which /readyz says until it is done
	ln           net.Listener
	pprof        *side
	metrics      *metrics.Metrics
	metricsSide  *side
	served       chan error
	stopOnce     sync.Once
	stopErr      error
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
	s := &Service{cfg: cfg, log: log, served: make(chan error, 1), metrics: metrics.New(), starting: newStartState()}
	defer func() {
		if err != nil {
			stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
			defer cancel()
			_ = s.shutdown(stopCtx)
		}
	}()
	if cfg.NeedsSecretsKey() {
		if s.secrets, err = openSecretsKeys(cfg, log); err != nil {
			return nil, err
		}
	}
	if err := s.listen(); err != nil {
		return nil, err
	}
	if err := s.connect(ctx); err != nil {
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
		Streams:       s.streams(),
		InvoicesAfter: cfg.InvoicesAfter(),
		Processor:     processor.ConsumerName,
		FanOut:        dispatcher.FanOutConsumer,
		Delivery:      dispatcher.DeliveryConsumer,
		Logger:        log,
	})
	if err := s.serve(); err != nil {
		return nil, err
	}
	s.starting.finish()
	return s, nil
}

// connect starts the embedded server when there is no NATS URL, and connects.
func (s *Service) connect(ctx context.Context) error {
	s.starting.waitFor("NATS at " + s.natsWhere())
	if s.cfg.Embedded() {
		if err := os.MkdirAll(s.cfg.Data, 0o750); err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
		user, err := embeddedUser(s.cfg)
		if err != nil {
			return err
		}
		srv, err := broker.StartEmbedded(broker.Embedded{
			StoreDir:   s.cfg.Data,
			Listen:     s.cfg.NATSListen,
			SyncAlways: s.cfg.Fsync == config.FsyncAlways,
			User:       user.public,
			Logger:     s.log,
		})
		if err != nil {
			return err
		}
		s.embedded, s.embeddedAuth = srv, user.auth
	}
	auth := brokerAuth(s.cfg.NATSAuth)
	if s.cfg.Embedded() {
		auth = s.embeddedAuth
	}
	nc, err := broker.Connect(s.cfg.NATSURL, s.embedded, "invoiced", s.log, auth)
	if err != nil {
		return err
	}
	s.nc, s.ncClosed = nc, make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(s.ncClosed) })
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	return s.group(nc, js)
}

// brokerAuth returns the sign-in the NATS flags describe.
func brokerAuth(a config.NATSAuth) broker.Auth {
	return broker.Auth{CredsFile: a.Creds, NKeySeedFile: a.NKey, TLSCA: a.TLSCA, TLSCert: a.TLSCert, TLSKey: a.TLSKey}
}

// streams returns the settings of the streams.
func (s *Service) streams() broker.Streams {
	return broker.Streams{Replicas: s.cfg.Replicas, DedupWindow: s.cfg.DedupWindow, HistoryRetention: s.cfg.HistoryRetention,
		// Only the embedded server is known to sync such a segment often
		// enough (broker.HistorySyncInterval).
		HistoryUnsynced: s.cfg.Embedded() && s.cfg.Fsync == config.FsyncAlways}
}

// setup creates or updates the streams, retrying while NATS is unreachable
// or JetStream temporarily unavailable (logged at once, then every
// waitLogInterval); a refusal of the configuration fails at once.
func (s *Service) setup(ctx context.Context) error {
	streams := s.streams()
	if err := streams.Validate(); err != nil {
		return err
	}
	s.starting.waitFor("JetStream at " + s.natsWhere())
	stopReports := s.reportWaiting(ctx)
	defer stopReports()
	for pause, first := 250*time.Millisecond, true; ; pause = min(2*pause, 5*time.Second) {
		attempt, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := s.ensure(attempt, streams)
		cancel()
		if err == nil {
			s.starting.waitFor("the roles to start")
			return nil
		}
		if !jserr.IsTransient(err) {
			return err
		}
		if status := s.nc.Status(); status != nats.CONNECTED {
			// Publishing then fails for want of a buffer, which names
			// the symptom, not the cause.
			err = fmt.Errorf("not connected to NATS (%s): %w", status, err)
		}
		s.starting.failed(err)
		if first {
			s.logWaiting()
			first = false
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("set up streams: %w (%w)", ctx.Err(), err)
		case <-time.After(pause):
		}
	}
}

// ensure creates or updates the streams and the buckets.
func (s *Service) ensure(ctx context.Context, streams broker.Streams) error {
	h, err := streams.Ensure(ctx, s.js)
	if err != nil {
		return err
	}
	s.handles = h
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
			UserAgent:                  "invoiced/" + version(),
			Logger:                     s.log.With("role", config.RoleDispatcher),
			Observer:                   s.metrics,
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
	if s.embedded == nil {
		return s.cfg.NATSURL
	}
	if s.cfg.NATSListen == broker.ListenOff {
		return ""
	}
	return s.embedded.ClientURL()
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
	errs = append(errs, s.pprof.shutdown(ctx), s.metricsSide.shutdown(ctx))
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
	if s.nc != nil {
		if s.nc.Drain() != nil {
			s.nc.Close()
		}
		select {
		case <-s.ncClosed:
		case <-ctx.Done():
			s.nc.Close()
		}
	}
	if s.embedded != nil {
		s.embedded.Shutdown()
		s.embedded.WaitForShutdown()
	}
	return errors.Join(errs...)
}
