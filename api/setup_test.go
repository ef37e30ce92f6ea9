package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/invoiced/invoiced/internal/infra/groupcommit"
	"github.com/invoiced/invoiced/internal/infra/netguard"
	"github.com/invoiced/invoiced/internal/infra/seal"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/invoiced/invoiced/internal/testing/statetest"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

// env is an API served over real HTTP, backed by a real JetStream server.
type env struct {
	srv    *server.Server
	js     jetstream.JetStream
	h      broker.Handles
	stream jetstream.Stream
	subs   jetstream.KeyValue
	ending webhook.Ending
	// secrets seals the subscriptions' secrets in the bucket.
	secrets *seal.Keyring
	model   *readmodel.Store
	lag     *readmodel.Follower
	http    *httptest.Server
	// writer is the group-commit writer POST publishes through, if any.
	writer *groupcommit.Writer
}

type envOptions struct {
	dedupWindow    time.Duration
	requestTimeout time.Duration
	storeDir       string
	log            *slog.Logger // the handler's; nil discards
	// grouped publishes through a group-commit writer that batches from
	// two waiting messages on, one batch at a time, as the service does
	// from more.
	grouped bool
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	srv := natstest.Start(t, natstest.Options{StoreDir: o.storeDir})
	e := &env{srv: srv}
	nc, js := natstest.Connect(t, srv)
	e.js = js
	e.h = statetest.Streams(t, e.js, broker.Streams{DedupWindow: o.dedupWindow})
	e.stream, e.subs, e.ending = e.h.Invoices, e.h.Subscriptions, e.h.Ending(e.js)
	e.model, e.lag = statetest.Model(t, e.js, e.h)
	var pub api.Publisher = e.js
	if o.grouped {
		w, err := groupcommit.New(nc, js, groupcommit.Config{MinBatch: 2, InFlight: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Close)
		pub, e.writer = w, w
	}
	ledger := api.NewLedger(pub, e.stream, e.model, e.lag, time.Minute)
	inv, err := api.NewInvoices(ledger, api.InvoicesConfig{RequestTimeout: o.requestTimeout})
	if err != nil {
		t.Fatalf("invoices: %v", err)
	}
	e.secrets = newKeyring(t)
	subs, err := api.NewSubscriptions(e.subs, e.ending, api.SubscriptionsConfig{SecretOverlap: time.Hour, Targets: netguard.Policy{AllowPrivate: true},
		Secrets: e.secrets})
	if err != nil {
		t.Fatalf("subscriptions: %v", err)
	}
	e.http = httptest.NewServer(api.NewHandler(api.Resources{
		Invoices:      inv,
		Subscriptions: subs,
		Health:        api.NewHealth(func(context.Context) error { return nil }),
		Logger:        o.log,
	}))
	t.Cleanup(e.http.Close)
	return e
}

// response is one answer, body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends one request; headers alternate name, value.
func (e *env) do(t testing.TB, method, path string, body []byte, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, e.http.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	res, err := e.http.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// post sends POST /invoices as JSON with an idempotency key.
func (e *env) post(t testing.TB, key, body string) response {
	t.Helper()
	return e.do(t, http.MethodPost, "/invoices", []byte(body), "Content-Type", "application/json", "Idempotency-Key", key)
}

type invoice struct {
	ID            string            `json:"id"`
	Status        string            `json:"status"`
	CustomerID    string            `json:"customer_id"`
	AmountCents   int64             `json:"amount_cents"`
	Currency      string            `json:"currency"`
	Description   string            `json:"description"`
	Metadata      map[string]string `json:"metadata"`
	CreatedAt     time.Time         `json:"created_at"`
	FailureReason string            `json:"failure_reason"`
}

type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Field  string `json:"field"`
}

// wantProblem checks an RFC 9457 answer with status naming field ("" for none).
func wantProblem(t testing.TB, r response, status int, field string) problem {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	var p problem
	r.json(t, &p)
	if p.Status != status || p.Type == "" || p.Title == "" {
		t.Fatalf("incomplete problem %s", r.body)
	}
	if field != "" && p.Field != field {
		t.Fatalf("problem names field %q, want %q: %s", p.Field, field, r.body)
	}
	return p
}

// newKeyring returns a keyring of one random key, held in memory only.
func newKeyring(t testing.TB) *seal.Keyring {
	t.Helper()
	kr, err := seal.NewRandom()
	if err != nil {
		t.Fatal(err)
	}
	return kr
}
