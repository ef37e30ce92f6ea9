package tracing

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/trace"
)

const (
	parentTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	parentSpan  = "00f067aa0ba902b7"
	traceparent = "00-" + parentTrace + "-" + parentSpan + "-01"
)

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, true},
		{Config{Endpoint: "http://127.0.0.1:4318", SampleRatio: 1}, true},
		{Config{Endpoint: "https://collector.example/otlp/", SampleRatio: 0.25}, true},
		{Config{Endpoint: "collector:4318"}, false},
		{Config{Endpoint: "ftp://collector"}, false},
		{Config{Endpoint: "http://"}, false},
		{Config{Endpoint: "http://c:4318/?q=1"}, false},
		{Config{SampleRatio: -0.1}, false},
		{Config{SampleRatio: 1.01}, false},
	} {
		if err := c.cfg.Validate(); (err == nil) != c.ok {
			t.Errorf("%+v: Validate() = %v, want ok %v", c.cfg, err, c.ok)
		}
	}
}

// TestOffContinuesAndBeginsTraces finds that with nothing exported a
// message's trace is continued under a new span, a request without one
// begins a trace, and both travel on in NATS and HTTP headers as W3C
// spells them.
func TestOffContinuesAndBeginsTraces(t *testing.T) {
	in := nats.Header{}
	in.Set(HeaderTraceparent, strings.TrimSuffix(traceparent, "01")+"00")
	if _, span := Consume(context.Background(), Off().Tracer(), "process", in); span.IsRecording() {
		t.Error("a span of an unsampled trace is recorded with nothing to export it to")
	}
	// A sampled trace stays sampled downstream: the caller decided.
	in.Set(HeaderTraceparent, traceparent)
	ctx, _ := Consume(context.Background(), Off().Tracer(), "process", in)
	if Recording(ctx) == nil {
		t.Error("the span of a trace its caller sampled is not recorded")
	}
	out := nats.Header{}
	_, child := Child(ctx, "publish", trace.SpanKindProducer)
	Inject(trace.ContextWithSpan(ctx, child), out)
	got := out.Get(HeaderTraceparent)
	if !strings.HasPrefix(got, "00-"+parentTrace+"-") || !strings.HasSuffix(got, "-01") || strings.Contains(got, parentSpan) || got != out["traceparent"][0] {
		t.Errorf("published traceparent %q (headers %v): want trace %s under a new span", got, out, parentTrace)
	}

	h := http.Header{}
	root, rootSpan := Off().Tracer().Start(ExtractHTTP(context.Background(), http.Header{}), "request")
	InjectHTTP(root, h)
	if id := TraceID(root); id == "" || id == parentTrace || !rootSpan.SpanContext().IsValid() {
		t.Errorf("a request without traceparent got trace %q", id)
	}
	if back := TraceID(ExtractHTTP(context.Background(), h)); back != TraceID(root) {
		t.Errorf("HTTP traceparent %q carries trace %q, want %q", h.Get("traceparent"), back, TraceID(root))
	}
}

func TestPassCopiesTraceContextAsItCame(t *testing.T) {
	from := nats.Header{}
	from.Set(HeaderTraceparent, traceparent)
	from.Set(HeaderTracestate, "vendor=1")
	from.Set("Other", "x")
	to := nats.Header{}
	Pass(to, from)
	if to.Get(HeaderTraceparent) != traceparent || to.Get(HeaderTracestate) != "vendor=1" || to.Get("Other") != "" {
		t.Errorf("passed %v", to)
	}
	empty := nats.Header{}
	Pass(empty, nats.Header{})
	if len(empty) != 0 {
		t.Errorf("passed from nothing: %v", empty)
	}
}

// TestChildOutsideASpanIsNotRecorded starts a child where there is no
// span, as code called outside a request does.
func TestChildOutsideASpanIsNotRecorded(t *testing.T) {
	ctx, span := Child(context.Background(), "publish", trace.SpanKindProducer)
	End(span, nil)
	if span.IsRecording() || TraceID(ctx) != "" || Recording(ctx) != nil {
		t.Errorf("a child outside any span: recording %v, trace %q", span.IsRecording(), TraceID(ctx))
	}
}

// FuzzExtract feeds any header values to the NATS and HTTP extractors,
// which read what clients and stored messages send.
func FuzzExtract(f *testing.F) {
	f.Add(traceparent, "vendor=1")
	f.Add("00-"+strings.Repeat("0", 32)+"-"+parentSpan+"-01", "")
	f.Add("ff-x-y-z", "a=b,,c")
	f.Fuzz(func(t *testing.T, tp, ts string) {
		h := nats.Header{}
		h.Set(HeaderTraceparent, tp)
		h.Set(HeaderTracestate, ts)
		ctx := Extract(context.Background(), h)
		sc := trace.SpanContextFromContext(ctx)
		if sc.IsValid() && !strings.Contains(tp, sc.TraceID().String()) {
			t.Errorf("traceparent %q gave trace %s", tp, sc.TraceID())
		}
		hh := http.Header{}
		hh.Set("Traceparent", tp)
		hh.Set("Tracestate", ts)
		if got := trace.SpanContextFromContext(ExtractHTTP(context.Background(), hh)); got.TraceID() != sc.TraceID() {
			t.Errorf("HTTP and NATS read %q apart: %s, %s", tp, got.TraceID(), sc.TraceID())
		}
	})
}

// BenchmarkHandOnOff is what a handler pays per message with nothing
// exported: continue the message's trace, start and end a span, and put
// its context on the message it publishes.
func BenchmarkHandOnOff(b *testing.B) {
	in := nats.Header{}
	in.Set(HeaderTraceparent, strings.TrimSuffix(traceparent, "01")+"00")
	tracer := Off().Tracer()
	b.ReportAllocs()
	for b.Loop() {
		ctx, span := Consume(context.Background(), tracer, "process", in)
		out := nats.Header{}
		Inject(ctx, out)
		End(span, nil)
	}
}

// TestExportFailuresAreLoggedOnceAMinute fails exports every second for
// three minutes of a fake clock and finds three lines, each counting what
// it passed over since the one before.
func TestExportFailuresAreLoggedOnceAMinute(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(0, 0)
	e := &errorLog{log: slog.New(slog.NewTextHandler(&buf, nil)), now: func() time.Time { return now }}
	for range 180 {
		e.Handle(errors.New("connection refused"))
		now = now.Add(time.Second)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "failures_not_logged=0") || !strings.Contains(lines[1], "failures_not_logged=59") ||
		!strings.Contains(lines[0], "connection refused") {
		t.Errorf("logged:\n%s", buf.String())
	}
}
