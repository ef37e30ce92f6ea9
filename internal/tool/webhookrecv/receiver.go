// Package webhookrecv is a webhook endpoint that measures and tests what
// invoiced delivers: it verifies every delivery with client/webhook,
// records per invoice when its outcome's first webhook was accepted and
// under which webhook-ids, counts repeats and refusals, and on request fails, holds or
// cuts deliveries, or stops listening for a while. invoiced bench (a
// shipped command) and the fault scenarios use it, so it lives outside the
// test-only packages.
package webhookrecv

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/invoiced/invoiced/client"
	"github.com/invoiced/invoiced/client/webhook"
)

// Config says how a Receiver misbehaves on purpose. The rates are shares
// of the verified requests, drawn at random and apart: a request is cut,
// else held, else failed. The zero Config accepts every verified delivery.
type Config struct {
	// FailRate is the share answered 500.
	FailRate float64
	// TimeoutRate is the share held for Hold and then answered 503: past
	// the sender's --webhook-timeout, it is a timed-out attempt.
	TimeoutRate float64
	// Hold is how long a timeout holds its request; 0 means 2s.
	Hold time.Duration
	// ResetRate is the share whose connection is closed without an answer.
	ResetRate float64
	// FailFirst answers 500 to the first request of every webhook-id,
	// before any fault drawn at random.
	FailFirst bool
}

// Validate reports the first rate outside 0 to 1, rates that add up to
// more than 1, or a negative Hold.
func (c Config) Validate() error {
	for _, r := range []float64{c.FailRate, c.TimeoutRate, c.ResetRate} {
		if r < 0 || r > 1 {
			return fmt.Errorf("webhookrecv: rate %g is not from 0 to 1", r)
		}
	}
	switch {
	case c.FailRate+c.TimeoutRate+c.ResetRate > 1:
		return errors.New("webhookrecv: the fault rates add up to more than 1")
	case c.Hold < 0:
		return fmt.Errorf("webhookrecv: negative hold %s", c.Hold)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Hold == 0 {
		c.Hold = 2 * time.Second
	}
	return c
}

// Counts are a Receiver's totals.
type Counts struct {
	// Invoices is how many invoices had a delivery accepted, and Outcomes
	// how many had one of their outcome (invoice.processed, invoice.failed).
	Invoices, Outcomes int
	// Repeats is how many accepted deliveries followed their invoice's
	// first: retries, or a second event of the invoice.
	Repeats int
	// Refused is how many requests did not verify or named no invoice.
	Refused int
	// Injected is how many faults were injected.
	Injected int
}

// Receiver is a webhook endpoint on a loopback port. It is safe for
// concurrent use.
type Receiver struct {
	cfg      Config
	addr     string
	verifier atomic.Pointer[webhook.Verifier]

	mu       sync.Mutex
	srv      *http.Server
	invoices map[string]invoice // invoice ID → what it was sent
	counts   Counts
	seen     uint64 // requests and acceptances so far, to order them
}

// invoice is what a Receiver saw of one invoice's webhooks.
type invoice struct {
	accepted bool // a delivery of it was accepted
	// settled is when the first accepted delivery of an outcome arrived;
	// zero before.
	settled time.Time
	hooks   []hook // by webhook-id, usually one
	// created and outcome order, among everything the receiver saw, the
	// first acceptance of its invoice.created and the first request of its
	// outcome; 0 before.
	created, outcome uint64
}

// hook counts the requests that carried one webhook-id.
type hook struct {
	id                 string
	requests, accepted int
}

// Start listens on a free loopback port and serves until Close. Until
// SetSecret it refuses every delivery. It fails when cfg is invalid or no
// port can be had.
func Start(cfg Config) (*Receiver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("webhookrecv: %w", err)
	}
	r := &Receiver{cfg: cfg.withDefaults(), addr: ln.Addr().String(), invoices: map[string]invoice{}}
	r.serve(ln)
	return r, nil
}

// URL returns the endpoint to subscribe.
func (r *Receiver) URL() string { return "http://" + r.addr + "/webhook" }

// SetSecret makes the receiver accept deliveries signed with secret (a
// subscription's "whsec_" secret) alone. It fails for a malformed secret.
func (r *Receiver) SetSecret(secret string) error {
	v, err := webhook.NewVerifier(webhook.DefaultTolerance, secret)
	if err != nil {
		return fmt.Errorf("webhookrecv: %w", err)
	}
	r.verifier.Store(v)
	return nil
}

// Down stops listening, so that attempts find the connection refused,
// until Up. It fails when the server does not close cleanly.
func (r *Receiver) Down() error {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Close()
}

// Up listens again on the same address after Down. It fails when the
// address cannot be had back.
func (r *Receiver) Up() error {
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		return fmt.Errorf("webhookrecv: up: %w", err)
	}
	r.serve(ln)
	return nil
}

// Close stops the receiver for good; what it recorded stays readable.
func (r *Receiver) Close() error { return r.Down() }

func (r *Receiver) serve(ln net.Listener) {
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go func() { _ = srv.Serve(ln) }() // ends with http.ErrServerClosed
}

// ServeHTTP verifies one delivery, records it, and answers 204 unless it
// injects a fault. A delivery that does not verify is answered 401, and a
// signed one that names no invoice 400.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	arrived := time.Now()
	ev, status, err := r.verify(w, req)
	if err != nil {
		r.mu.Lock()
		r.counts.Refused++
		r.mu.Unlock()
		http.Error(w, err.Error(), status)
		return
	}
	first := r.record(ev, arrived, false) == 1
	if r.inject(w, req, first) {
		return
	}
	r.record(ev, arrived, true)
	w.WriteHeader(http.StatusNoContent)
}

// verify reads and verifies req's delivery. It fails, with the status to
// answer, for a body that cannot be read, a delivery that does not verify,
// and one that names no invoice.
func (r *Receiver) verify(w http.ResponseWriter, req *http.Request) (webhook.Event, int, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, webhook.MaxBodyBytes))
	if err != nil {
		return webhook.Event{}, http.StatusBadRequest, fmt.Errorf("unreadable body: %w", err)
	}
	v := r.verifier.Load()
	if v == nil {
		return webhook.Event{}, http.StatusUnauthorized, errors.New("no secret to verify with yet")
	}
	ev, err := v.Verify(req.Header, body)
	switch {
	case errors.Is(err, webhook.ErrPayload):
		return ev, http.StatusBadRequest, err
	case err != nil:
		return ev, http.StatusUnauthorized, err
	case ev.Data.ID == "":
		return ev, http.StatusBadRequest, errors.New("no invoice in the payload")
	}
	return ev, 0, nil
}

// record counts one verified request of ev that arrived at arrived, or,
// when accepted, its acceptance, and returns how many requests its
// webhook-id has had.
func (r *Receiver) record(ev webhook.Event, arrived time.Time, accepted bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen++
	inv := r.invoices[ev.Data.ID]
	switch {
	case ev.Type == client.EventInvoiceCreated && accepted && inv.created == 0:
		inv.created = r.seen
	case ev.Type != client.EventInvoiceCreated && !accepted && inv.outcome == 0:
		inv.outcome = r.seen
	}
	i := 0
	for i < len(inv.hooks) && inv.hooks[i].id != ev.ID {
		i++
	}
	if i == len(inv.hooks) {
		inv.hooks = append(inv.hooks, hook{id: ev.ID})
	}
	if !accepted {
		inv.hooks[i].requests++
		r.invoices[ev.Data.ID] = inv
		return inv.hooks[i].requests
	}
	inv.hooks[i].accepted++
	if ev.Type != client.EventInvoiceCreated && inv.settled.IsZero() {
		inv.settled = arrived
		r.counts.Outcomes++
	}
	if !inv.accepted {
		inv.accepted = true
		r.counts.Invoices++
	} else {
		r.counts.Repeats++
	}
	r.invoices[ev.Data.ID] = inv
	return inv.hooks[i].requests
}

// inject answers req, the first of its webhook-id when first, with a
// fault, as configured, and reports whether it did.
func (r *Receiver) inject(w http.ResponseWriter, req *http.Request, first bool) bool {
	f, roll := r.cfg, rand.Float64()
	var fault func()
	switch {
	case f.FailFirst && first:
		fault = func() { http.Error(w, "injected failure of a first attempt", http.StatusInternalServerError) }
	case roll < f.ResetRate:
		fault = func() {
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
		}
	case roll < f.ResetRate+f.TimeoutRate:
		fault = func() {
			t := time.NewTimer(f.Hold)
			select {
			case <-t.C:
			case <-req.Context().Done():
			}
			t.Stop()
			http.Error(w, "held past the sender's timeout", http.StatusServiceUnavailable)
		}
	case roll < f.ResetRate+f.TimeoutRate+f.FailRate:
		fault = func() { http.Error(w, "injected failure", http.StatusInternalServerError) }
	default:
		return false
	}
	// Counted before it is done, so whoever sees the fault sees it counted.
	r.mu.Lock()
	r.counts.Injected++
	r.mu.Unlock()
	fault()
	return true
}

// OutcomeArrival returns when the first accepted webhook of an outcome of
// invoice id arrived, and false when none has.
func (r *Receiver) OutcomeArrival(id string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	settled := r.invoices[id].settled
	return settled, !settled.IsZero()
}

// Accepted returns the webhook-ids under which deliveries for invoice id
// were accepted, with how many each.
func (r *Receiver) Accepted(id string) map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for _, h := range r.invoices[id].hooks {
		if h.accepted > 0 {
			out[h.id] = h.accepted
		}
	}
	return out
}

// Requests returns how many verified requests for invoice id carried
// webhook-id webhookID, those answered with a fault included.
func (r *Receiver) Requests(id, webhookID string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range r.invoices[id].hooks {
		if h.id == webhookID {
			return h.requests
		}
	}
	return 0
}

// OutOfOrder returns the invoices whose invoice.created was accepted after
// one of their outcomes (invoice.processed, invoice.failed) had been sent.
func (r *Receiver) OutOfOrder() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for id, inv := range r.invoices {
		if inv.created != 0 && inv.outcome != 0 && inv.outcome < inv.created {
			out = append(out, id)
		}
	}
	return out
}

// Counts returns the receiver's totals so far.
func (r *Receiver) Counts() Counts {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts
}
