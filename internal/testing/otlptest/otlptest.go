// Package otlptest is an in-process OTLP/HTTP trace receiver for tests: it
// takes what an OpenTelemetry exporter sends to /v1/traces and keeps every
// span.
package otlptest

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	common "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"
)

// Span is one received span, its IDs in hex as W3C traceparent writes
// them; Parent is "" for a root span.
type Span struct {
	Name, TraceID, ID, Parent string
	Kind                      string
	Attributes                map[string]string
}

// Receiver is an OTLP/HTTP endpoint. Its methods are safe for concurrent
// use.
type Receiver struct {
	URL   string // the base URL, for --otlp-endpoint
	mu    sync.Mutex
	spans []Span
}

// New starts a receiver, closed when t ends.
func New(t testing.TB) *Receiver {
	r := &Receiver{}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// serve takes one export request of protobuf-encoded spans.
func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	var export coltrace.ExportTraceServiceRequest
	if req.URL.Path != "/v1/traces" || err != nil || proto.Unmarshal(body, &export) != nil {
		http.Error(w, "not an OTLP trace export", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	for _, rs := range export.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				attrs := map[string]string{}
				for _, kv := range s.GetAttributes() {
					attrs[kv.GetKey()] = valueString(kv.GetValue())
				}
				r.spans = append(r.spans, Span{Name: s.GetName(), TraceID: hex.EncodeToString(s.GetTraceId()),
					ID: hex.EncodeToString(s.GetSpanId()), Parent: hex.EncodeToString(s.GetParentSpanId()),
					Kind: s.GetKind().String(), Attributes: attrs})
			}
		}
	}
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	_, _ = w.Write(out)
}

// Spans returns a copy of every span received so far.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// valueString returns a string or integer attribute's value as text, and
// any other as its protobuf text.
func valueString(v *common.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *common.AnyValue_StringValue:
		return x.StringValue
	case *common.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	}
	return v.String()
}
