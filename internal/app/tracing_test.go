package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/calltest"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/invoiced/invoiced/internal/testing/otlptest"
)

// traceparents is a webhook receiver that keeps the traceparent of every
// request, after failing the first one of each delivery when asked.
type traceparents struct {
	failFirst bool
	mu        sync.Mutex
	seen      map[string][]string // X-Delivery-ID → traceparents, in order
}

func newTraceparents(t *testing.T, failFirst bool) (*traceparents, string) {
	r := &traceparents{failFirst: failFirst, seen: map[string][]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		id := req.Header.Get("X-Delivery-ID")
		r.seen[id] = append(r.seen[id], req.Header.Get("traceparent"))
		first := len(r.seen[id]) == 1
		r.mu.Unlock()
		if first && r.failFirst {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	return r, srv.URL
}

// all returns every traceparent received, and how many deliveries had at
// least n requests.
func (r *traceparents) all(n int) ([]string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	full := 0
	for _, tps := range r.seen {
		out = append(out, tps...)
		if len(tps) >= n {
			full++
		}
	}
	return out, full
}

// traceOf returns the trace ID and the parent span ID of a traceparent.
func traceOf(t *testing.T, traceparent string) (string, string) {
	t.Helper()
	parts := strings.Split(traceparent, "-")
	if len(parts) != 4 || parts[0] != "00" || len(parts[1]) != 32 || len(parts[2]) != 16 {
		t.Fatalf("traceparent %q is not W3C's", traceparent)
	}
	return parts[1], parts[2]
}

const clientTrace, clientSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"

// TestOneInvoiceIsOneTrace exports the spans of one invoice to an OTLP
// receiver and finds them one trace under the client's span: the request,
// its publish, the processing and the outcome's publish, the fan-out of
// each event and each webhook attempt, whose traceparent names its span.
func TestOneInvoiceIsOneTrace(t *testing.T) {
	otlp := otlptest.New(t)
	hooks, url := newTraceparents(t, false)
	svc := startService(t, serveConfig(t, "", "--otlp-endpoint", otlp.URL))
	base := "http://" + svc.Addr()
	calltest.Subscribe(t, base, url)
	a := calltest.Call(t, http.MethodPost, base+"/invoices", calltest.InvoiceBody, "Content-Type", "application/json",
		"Idempotency-Key", "traced-1", "traceparent", "00-"+clientTrace+"-"+clientSpan+"-01")
	if a.Status != http.StatusCreated {
		t.Fatalf("post: %d %s", a.Status, a.Body)
	}
	var spans map[string][]otlptest.Span // by name
	natstest.Eventually(t, 30*time.Second, "the invoice's spans exported", func() bool {
		spans = map[string][]otlptest.Span{}
		for _, s := range otlp.Spans() {
			if s.TraceID == clientTrace {
				spans[s.Name] = append(spans[s.Name], s)
			}
		}
		return len(spans["webhook attempt"]) >= 2 && len(spans["fan-out"]) >= 2 && len(spans["process"]) >= 1
	})
	one := func(name string) otlptest.Span {
		if len(spans[name]) != 1 {
			t.Fatalf("%d spans %q in the trace, want 1: %+v", len(spans[name]), name, spans)
		}
		return spans[name][0]
	}
	request, published, process, outcome := one("POST /invoices"), one("publish InvoiceRequested"), one("process"), one("publish InvoiceProcessed")
	for _, c := range []struct {
		child  otlptest.Span
		parent string
	}{{request, clientSpan}, {published, request.ID}, {process, published.ID}, {outcome, process.ID}} {
		if c.child.Parent != c.parent {
			t.Errorf("span %q has parent %s, want %s", c.child.Name, c.child.Parent, c.parent)
		}
	}
	fanOutUnder, fanOuts := map[string]bool{}, map[string]bool{} // parents, IDs
	for _, f := range spans["fan-out"] {
		fanOutUnder[f.Parent], fanOuts[f.ID] = true, true
	}
	if !fanOutUnder[published.ID] || !fanOutUnder[outcome.ID] {
		t.Errorf("want a fan-out under each event's publish: %+v", spans["fan-out"])
	}
	attempts := map[string]bool{}
	for _, at := range spans["webhook attempt"] {
		if !fanOuts[at.Parent] {
			t.Errorf("attempt %s is not under a fan-out: parent %s", at.ID, at.Parent)
		}
		if at.Attributes["http.response.status_code"] != "200" || at.Kind != "SPAN_KIND_CLIENT" {
			t.Errorf("attempt span %+v", at)
		}
		attempts[at.ID] = true
	}
	sent, _ := hooks.all(1)
	for _, tp := range sent {
		trace, parent := traceOf(t, tp)
		if trace != clientTrace || !attempts[parent] {
			t.Errorf("webhook traceparent %s: want trace %s under an attempt's span %v", tp, clientTrace, attempts)
		}
	}
}

// TestWebhooksContinueTheRequestsTrace runs without an OTLP endpoint and
// finds every webhook request, retries included, in the trace of the
// request that made the invoice: the client's, or the one the service
// began and logged.
func TestWebhooksContinueTheRequestsTrace(t *testing.T) {
	hooks, url := newTraceparents(t, true)
	var logs calltest.SyncBuffer
	svc, err := Start(context.Background(), serveConfig(t, "", "--webhook-retry-schedule", "10ms"), slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopService(t, svc) })
	base := "http://" + svc.Addr()
	calltest.Subscribe(t, base, url)

	calltest.Call(t, http.MethodPost, base+"/invoices", calltest.InvoiceBody, "Content-Type", "application/json",
		"Idempotency-Key", "traced-2", "traceparent", "00-"+clientTrace+"-"+clientSpan+"-00", "X-Request-ID", "with-trace")
	awaitTraceparents(t, hooks, 2)
	sent, _ := hooks.all(1)
	for _, tp := range sent {
		if trace, _ := traceOf(t, tp); trace != clientTrace {
			t.Errorf("webhook traceparent %s is not of the client's trace %s", tp, clientTrace)
		}
	}

	hooks.mu.Lock()
	clear(hooks.seen)
	hooks.mu.Unlock()
	calltest.Call(t, http.MethodPost, base+"/invoices", calltest.InvoiceBody, "Content-Type", "application/json",
		"Idempotency-Key", "traced-3", "X-Request-ID", "without-trace")
	begun := loggedTraceID(t, &logs, "without-trace")
	if begun == "" || begun == clientTrace || begun == strings.Repeat("0", 32) {
		t.Fatalf("the request without a traceparent logged trace %q", begun)
	}
	awaitTraceparents(t, hooks, 2)
	sent, _ = hooks.all(1)
	for _, tp := range sent {
		if trace, _ := traceOf(t, tp); trace != begun {
			t.Errorf("webhook traceparent %s is not of the request's trace %s", tp, begun)
		}
	}
}

// awaitTraceparents waits until both deliveries of an invoice have had n
// requests each.
func awaitTraceparents(t *testing.T, hooks *traceparents, n int) {
	t.Helper()
	natstest.Eventually(t, 20*time.Second, "both webhooks attempted and retried", func() bool {
		_, full := hooks.all(n)
		return full == 2
	})
}

// loggedTraceID returns the trace ID on the log line of the request with
// requestID, or "".
func loggedTraceID(t *testing.T, logs *calltest.SyncBuffer, requestID string) string {
	t.Helper()
	for _, line := range strings.Split(logs.String(), "\n") {
		var m struct {
			Msg       string `json:"msg"`
			RequestID string `json:"request_id"`
			TraceID   string `json:"trace_id"`
		}
		if json.Unmarshal([]byte(line), &m) == nil && m.Msg == "request" && m.RequestID == requestID {
			return m.TraceID
		}
	}
	return ""
}
