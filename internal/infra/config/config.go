// Package config reads invoiced's command-line flags and environment: the
// one place they are parsed.
package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/tracing"
)

// Roles a process can run.
const (
	RoleAPI        = "api"
	RoleProcessor  = "processor"
	RoleDispatcher = "dispatcher"
)

// KnownRoles lists every role, in start order.
var KnownRoles = []string{RoleAPI, RoleProcessor, RoleDispatcher}

// Fsync modes of the embedded server.
const (
	FsyncAlways   = "always"
	FsyncInterval = "interval"
)

// MetricsOff as --metrics-addr serves no metrics.
const MetricsOff = "off"

// NATSListenOff as --nats-listen accepts no NATS clients over TCP.
const NATSListenOff = "off"

// DefaultAddr is serve's --addr when neither the flag nor INVOICED_ADDR
// gives one.
const DefaultAddr = "127.0.0.1:8080"

// Serve is the configuration of invoiced serve.
type Serve struct {
	Addr                 string
	Data                 string
	NATSURL              string
	NATSListen           string
	Fsync                string
	Roles                []string
	Replicas             int
	DedupWindow          time.Duration
	HistoryRetention     time.Duration
	CompactAfter         time.Duration
	MaxAmountCents       int64
	ProcessDelay         time.Duration
	ProcessWorkers       int
	RequestTimeout       time.Duration
	ShutdownTimeout      time.Duration
	WebhookSecretOverlap time.Duration
	WebhookTimeout       time.Duration
	WebhookRetrySchedule webhook.Schedule
	WebhookDisableAfter  time.Duration
	WebhookMaxInFlight   int
	DeliveryWorkers      int
	LogLevel             slog.Level
	LogFormat            string
	PprofAddr            string
	MetricsAddr          string
	Tracing              tracing.Config // its Endpoint and SampleRatio; Start adds the rest
	SecretsKeyFile       string
	NATSAuth             NATSAuth
	Security
}

// InvoicesAfter returns how long a handled event stays on INVOICES once
// the history has copied it: --compact-after, or by default 30 seconds or
// twice --request-timeout plus 10 seconds, whichever is longer.
func (s Serve) InvoicesAfter() time.Duration {
	if s.CompactAfter > 0 {
		return s.CompactAfter
	}
	return max(30*time.Second, 2*s.RequestTimeout+10*time.Second)
}

// ReadModelMaxLag returns how far the api role's read model may trail the
// history while the API still takes new Idempotency-Keys: an invoice whose
// events left INVOICES must be in the read model by the time a request that
// did not find it there publishes, whatever that request's length.
func (s Serve) ReadModelMaxLag() time.Duration {
	return s.InvoicesAfter() - s.RequestTimeout - 5*time.Second
}

// Has reports whether the configuration runs role.
func (s Serve) Has(role string) bool { return slices.Contains(s.Roles, role) }

// Embedded reports whether invoiced runs its own JetStream server.
func (s Serve) Embedded() bool { return s.NATSURL == "" }

// Validate reports the first invalid setting.
func (s Serve) Validate() error {
	if _, _, err := net.SplitHostPort(s.Addr); err != nil {
		return fmt.Errorf("--addr %q: %w", s.Addr, err)
	}
	if s.Fsync != FsyncAlways && s.Fsync != FsyncInterval {
		return fmt.Errorf("--fsync must be %s or %s, not %q", FsyncAlways, FsyncInterval, s.Fsync)
	}
	if len(s.Roles) == 0 {
		return errors.New("--roles names no role")
	}
	for _, r := range s.Roles {
		if !slices.Contains(KnownRoles, r) {
			return fmt.Errorf("--roles: unknown role %q (known: %s)", r, strings.Join(KnownRoles, ", "))
		}
	}
	if (s.Embedded() || s.Has(RoleAPI)) && s.Data == "" {
		return errors.New("--data must name a directory: the embedded server's store, and the api role's read model")
	}
	if s.NeedsSecretsKey() {
		if err := s.SecretsKey().validate(); err != nil {
			return err
		}
	}
	if s.Embedded() && s.Replicas > 1 {
		return fmt.Errorf("--replicas %d needs a NATS cluster (--nats-url); the embedded server is a single node", s.Replicas)
	}
	switch {
	case s.MaxAmountCents < 1:
		return fmt.Errorf("--max-amount-cents must be positive, not %d", s.MaxAmountCents)
	case s.ProcessDelay < 0:
		return fmt.Errorf("--process-delay must not be negative, not %s", s.ProcessDelay)
	case s.ProcessWorkers < 1:
		return fmt.Errorf("--process-workers must be at least 1, not %d", s.ProcessWorkers)
	case s.Replicas < 1 || s.Replicas > 5:
		return fmt.Errorf("--replicas must be 1 to 5, not %d", s.Replicas)
	case s.DedupWindow < 100*time.Millisecond:
		return fmt.Errorf("--dedup-window must be at least 100ms, not %s", s.DedupWindow)
	case s.HistoryRetention < 0:
		return fmt.Errorf("--history-retention must not be negative, not %s", s.HistoryRetention)
	case s.CompactAfter != 0 && s.CompactAfter < s.RequestTimeout+10*time.Second:
		return fmt.Errorf("--compact-after must be at least --request-timeout plus 10s (%s), not %s", s.RequestTimeout+10*time.Second, s.CompactAfter)
	case s.RequestTimeout <= 0, s.ShutdownTimeout <= 0:
		return errors.New("--request-timeout and --shutdown-timeout must be positive")
	case s.WebhookTimeout <= 0, s.WebhookDisableAfter <= 0:
		return errors.New("--webhook-timeout and --webhook-disable-after must be positive")
	case s.WebhookMaxInFlight < 1, s.DeliveryWorkers < 1:
		return errors.New("--webhook-max-in-flight and --delivery-workers must be at least 1")
	case len(s.WebhookRetrySchedule) == 0:
		return errors.New("--webhook-retry-schedule names no delay")
	case s.WebhookSecretOverlap < 0:
		return fmt.Errorf("--webhook-secret-overlap must not be negative, not %s", s.WebhookSecretOverlap)
	case s.LogFormat != "text" && s.LogFormat != "json":
		return fmt.Errorf("--log-format must be text or json, not %q", s.LogFormat)
	}
	if err := s.validateSideAddrs(); err != nil {
		return err
	}
	if err := s.Tracing.Validate(); err != nil {
		return fmt.Errorf("--otlp-endpoint, --trace-sample-ratio: %w", err)
	}
	if err := s.NATSAuth.validate(s.Embedded()); err != nil {
		return err
	}
	return s.Security.validate(s.Addr, s.NATSListen, s.Embedded())
}

// validateSideAddrs checks the listeners beside the API's: pprof and
// metrics.
func (s Serve) validateSideAddrs() error {
	for _, side := range []struct{ flag, addr string }{{"--pprof-addr", s.PprofAddr}, {"--metrics-addr", s.MetricsAddr}} {
		if side.addr == "" || side.flag == "--metrics-addr" && side.addr == MetricsOff {
			continue
		}
		if _, _, err := net.SplitHostPort(side.addr); err != nil {
			return fmt.Errorf("%s %q: %w", side.flag, side.addr, err)
		}
	}
	return nil
}

// ParseServe reads the flags of invoiced serve from args, each defaulting to
// its INVOICED_<NAME> environment variable, and validates them. A flag beats
// the environment; NATS_URL, the nats CLI's variable, is never read, so a
// shell set up for the CLI cannot turn the embedded server off. It returns
// flag.ErrHelp after printing usage to out when asked for help, and an
// error naming the bad flag or variable otherwise.
func ParseServe(args []string, getenv func(string) string, out io.Writer) (Serve, error) {
	var s Serve
	var roles, logLevel, schedule string
	fs := newCommandFlags("invoiced serve", "Usage: invoiced serve [flags]\n\nRuns the invoice service.", out)
	fs.StringVar(&s.Addr, "addr", DefaultAddr, "HTTP listen address")
	fs.StringVar(&s.Data, "data", "./data", "directory of the embedded JetStream store, of the api role's read model and, by default, of the secrets key file")
	fs.StringVar(&s.NATSURL, "nats-url", "", "URL of an external NATS server or cluster; when set nothing is embedded. NATS_URL, the nats CLI's variable, is not read")
	fs.StringVar(&s.NATSListen, "nats-listen", "127.0.0.1:4222", "where the embedded server accepts NATS clients such as the nats CLI; off = in-process only. Refused with --nats-url, which embeds nothing")
	fs.StringVar(&s.Fsync, "fsync", FsyncAlways, "embedded server disk sync: always (before every acknowledgement) or interval (NATS default, every 2m)")
	fs.StringVar(&roles, "roles", strings.Join(KnownRoles, ","), "comma-separated roles to run: "+strings.Join(KnownRoles, ", "))
	fs.IntVar(&s.Replicas, "replicas", 1, "replicas of every stream invoiced creates (3 on a 3-node cluster)")
	fs.DurationVar(&s.DedupWindow, "dedup-window", 2*time.Minute, "JetStream duplicate window for in-flight retries (keys replay for as long as the invoice exists, whatever this is)")
	fs.DurationVar(&s.HistoryRetention, "history-retention", 0, "how long the HISTORY stream keeps events and settled deliveries; 0 = for ever (read models are rebuilt from it)")
	fs.DurationVar(&s.CompactAfter, "compact-after", 0, "how long a handled event stays on INVOICES once HISTORY has it; 0 = 30s, or 2×--request-timeout+10s if longer")
	fs.Int64Var(&s.MaxAmountCents, "max-amount-cents", 100_000_000, "largest amount processed; larger invoices fail with amount_exceeds_limit")
	fs.DurationVar(&s.ProcessDelay, "process-delay", 0, "simulated work per invoice")
	fs.IntVar(&s.ProcessWorkers, "process-workers", 256, "invoices processed at once by one process")
	fs.DurationVar(&s.RequestTimeout, "request-timeout", 10*time.Second, "longest a request waits for JetStream before answering 503")
	fs.DurationVar(&s.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "longest a graceful shutdown waits for requests and messages in flight")
	fs.DurationVar(&s.WebhookSecretOverlap, "webhook-secret-overlap", 24*time.Hour, "how long a rotated-out webhook secret keeps signing beside the new one")
	fs.DurationVar(&s.WebhookTimeout, "webhook-timeout", 15*time.Second, "longest one webhook attempt may take; a 2xx within it is a success")
	fs.StringVar(&schedule, "webhook-retry-schedule", webhook.DefaultSchedule, "delays before each retry of a failed webhook (one more attempt than delays), ±20% jitter")
	fs.DurationVar(&s.WebhookDisableAfter, "webhook-disable-after", 120*time.Hour, "disable a subscription that has failed this long without a single success")
	fs.IntVar(&s.WebhookMaxInFlight, "webhook-max-in-flight", 128, "attempts one subscription may have under way in one process, so a slow endpoint cannot hold every worker")
	fs.IntVar(&s.DeliveryWorkers, "delivery-workers", 256, "deliveries one process works on at once (attempt, then record)")
	fs.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&s.LogFormat, "log-format", "text", "log format: text or json (durations as float milliseconds, the key ending in _ms)")
	fs.StringVar(&s.PprofAddr, "pprof-addr", "", "serve net/http/pprof on this address, apart from the API (keep it private); empty = off")
	fs.StringVar(&s.MetricsAddr, "metrics-addr", "", "serve Prometheus metrics at /metrics on this address; empty = on the API listener (behind the API keys, if any); off = nowhere")
	fs.StringVar(&s.Tracing.Endpoint, "otlp-endpoint", "", "export traces over OTLP/HTTP to this collector (a base URL such as http://127.0.0.1:4318; spans go to its /v1/traces); empty = export nothing, while trace context still travels to webhooks")
	fs.Float64Var(&s.Tracing.SampleRatio, "trace-sample-ratio", 1, "share of the traces begun here that --otlp-endpoint exports, 0 to 1; a request's sampled traceparent decides for its own trace")
	fs.StringVar(&s.SecretsKeyFile, "secrets-key-file", "", secretsKeyFileUsage)
	s.NATSAuth.register(fs.FlagSet)
	secFlags := s.Security.register(fs.FlagSet)
	if err := fs.parse(args, getenv); err != nil {
		return Serve{}, err
	}
	if s.NATSURL != "" && fs.given("nats-listen") && s.NATSListen != NATSListenOff {
		return Serve{}, fmt.Errorf("%s %s asks the embedded NATS server to listen, but --nats-url (or INVOICED_NATS_URL) means "+
			"nothing is embedded, so there is nothing to listen: unset %s, or unset --nats-url to embed", fs.source("nats-listen"), s.NATSListen, fs.source("nats-listen"))
	}
	s.Roles = splitList(roles)
	if err := s.Security.resolve(fs.FlagSet, secFlags, s.Addr, s.NATSURL == ""); err != nil {
		return Serve{}, err
	}
	var err error
	if s.WebhookRetrySchedule, err = webhook.ParseSchedule(schedule); err != nil {
		return Serve{}, fmt.Errorf("--webhook-retry-schedule: %w", err)
	}
	if err := s.LogLevel.UnmarshalText([]byte(logLevel)); err != nil {
		return Serve{}, fmt.Errorf("--log-level: %w", err)
	}
	return s, s.Validate()
}

// splitList returns the distinct non-empty items of a comma-separated list.
func splitList(s string) []string {
	var roles []string
	for _, r := range strings.Split(s, ",") {
		if r = strings.TrimSpace(r); r != "" && !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	return roles
}
