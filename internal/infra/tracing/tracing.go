// Package tracing carries W3C Trace Context through invoiced — from an HTTP
// request, in NATS headers on the invoice's events and tasks, to every
// webhook request — and, given an OTLP endpoint, exports the spans of each
// step through the OpenTelemetry SDK over OTLP/HTTP.
//
// Without an endpoint nothing is recorded or exported, but trace context
// still travels: a request without a traceparent gets a new trace ID, and
// the webhooks it causes carry it, so a receiver's own tracing can join.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Name is the instrumentation scope of invoiced's spans.
const Name = "github.com/invoiced/invoiced"

// Config says where spans go and which are kept.
type Config struct {
	// Endpoint is an OTLP/HTTP collector's base URL, such as
	// http://127.0.0.1:4318; spans are sent to its /v1/traces. "" exports
	// nothing.
	Endpoint string
	// SampleRatio is the share of traces begun here that are exported,
	// from 0 to 1; a trace continued from a caller's traceparent follows
	// the caller's choice.
	SampleRatio float64
	// Version and Roles describe the process in every exported span.
	Version, Roles string
}

// Validate reports the first invalid option.
func (c Config) Validate() error {
	if c.SampleRatio < 0 || c.SampleRatio > 1 {
		return fmt.Errorf("trace sample ratio must be between 0 and 1, not %v", c.SampleRatio)
	}
	if c.Endpoint == "" {
		return nil
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("OTLP endpoint must be an http or https URL such as http://127.0.0.1:4318, not %q", c.Endpoint)
	}
	return nil
}

// Tracing makes the process's spans. Its methods are safe for concurrent
// use.
type Tracing struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
}

// off records nothing and exports nothing, but gives every new trace an ID.
var off = newOff()

func newOff() *Tracing {
	p := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample())))
	return &Tracing{provider: p, tracer: p.Tracer(Name)}
}

// Off returns a Tracing that exports nothing, as New does without an
// endpoint; trace context still travels.
func Off() *Tracing { return off }

// New returns the Tracing cfg asks for; what fails in exporting is logged
// to log. It fails when cfg is invalid.
func New(cfg Config, log *slog.Logger) (*Tracing, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Endpoint == "" {
		return off, nil
	}
	logErrorsTo(log)
	exporter, err := otlptracehttp.New(context.Background(),
		otlptracehttp.WithEndpointURL(strings.TrimSuffix(cfg.Endpoint, "/")+"/v1/traces"))
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter: %w", err)
	}
	p := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exporter, sdktrace.WithBatchTimeout(time.Second)),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))),
		sdktrace.WithResource(resource.NewSchemaless(
			semconv.ServiceName("invoiced"),
			semconv.ServiceVersion(cfg.Version),
			attribute.String("invoiced.roles", cfg.Roles),
		)),
	)
	return &Tracing{provider: p, tracer: p.Tracer(Name)}, nil
}

// Tracer returns the tracer of invoiced's spans.
func (t *Tracing) Tracer() trace.Tracer { return t.tracer }

// Shutdown exports the spans still buffered and stops exporting. It fails
// when ctx ends first or the collector refuses them. Off's is a no-op.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == off {
		return nil
	}
	if err := t.provider.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("tracing: %w", err)
	}
	return nil
}
