package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/invoiced/invoiced/internal/testing/statetest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const benchBody = `{"customer_id":"cust_123","amount_cents":2500,"currency":"USD","metadata":{"order":"42"}}`

// benchServer starts JetStream with every stream, syncing as fsync says.
func benchServer(b *testing.B, syncAlways bool) (jetstream.JetStream, broker.Handles) {
	b.Helper()
	srv := natstest.Start(b, natstest.Options{SyncAlways: syncAlways})
	_, js := natstest.Connect(b, srv)
	return js, statetest.Streams(b, js, broker.Streams{})
}

var keySeq atomic.Int64

// runPosts drives handler with unique-key POST /invoices from parallel goroutines.
func runPosts(b *testing.B, handler http.Handler) {
	b.Helper()
	b.SetParallelism(16) // many requests in flight, as under load
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/invoices", strings.NewReader(benchBody))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", fmt.Sprint("bench-", keySeq.Add(1)))
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusCreated {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
}

// BenchmarkCreateInvoice measures the whole POST /invoices handler against a
// real embedded JetStream server; compare it with BenchmarkFloorPublish from
// the same run.
func BenchmarkCreateInvoice(b *testing.B) {
	for _, fsync := range []string{"always", "interval"} {
		b.Run("fsync="+fsync, func(b *testing.B) {
			js, h := benchServer(b, fsync == "always")
			model, lag := statetest.Model(b, js, h)
			inv, err := api.NewInvoices(api.NewLedger(js, h.Invoices, model, lag, time.Minute), api.InvoicesConfig{})
			if err != nil {
				b.Fatal(err)
			}
			runPosts(b, api.NewHandler(api.Resources{Invoices: inv}))
		})
	}
}

// BenchmarkFloorPublish is the floor: a bare handler that decodes the same
// body and does one JetStream publish with Nats-Msg-Id on the same server
// settings, and nothing else.
func BenchmarkFloorPublish(b *testing.B) {
	for _, fsync := range []string{"always", "interval"} {
		b.Run("fsync="+fsync, func(b *testing.B) {
			js, _ := benchServer(b, fsync == "always")
			var seq atomic.Int64
			runPosts(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var body map[string]any
				if err := jsonDecode(r, &body); err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				n := seq.Add(1)
				_, err := js.PublishMsg(r.Context(), &nats.Msg{Subject: fmt.Sprintf("invoices.floor%d.requested", n), Data: []byte(benchBody)},
					jetstream.WithMsgID(r.Header.Get("Idempotency-Key")))
				if err != nil {
					http.Error(w, err.Error(), http.StatusServiceUnavailable)
					return
				}
				w.WriteHeader(http.StatusCreated)
			}))
		})
	}
}
