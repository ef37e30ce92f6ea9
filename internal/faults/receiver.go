package faults

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/invoiced/invoiced/internal/webhook"
)

// ReceiverFaults are the ways a Receiver misbehaves on purpose. The rates
// are fractions of the requests that arrive, decided at random and apart:
// a request is cut, else held, else failed.
type ReceiverFaults struct {
	// FailRate is the share answered 500.
	FailRate float64
	// TimeoutRate is the share held for Hold and then answered 503: past
	// the sender's --webhook-timeout, it is a timed-out attempt.
	TimeoutRate float64
	// Hold is how long a timeout fault holds its request; 0 means 2s.
	Hold time.Duration
	// ResetRate is the share whose connection is closed without an answer.
	ResetRate float64
}

// Receiver is a webhook endpoint that verifies every delivery's Standard
// Webhooks signature, answers 2xx to those it accepts, and records per
// invoice the webhook-ids it accepted.
type Receiver struct {
	faults ReceiverFaults
	addr   string
	secret atomic.Pointer[string]

	mu       sync.Mutex
	srv      *http.Server
	accepted map[string]map[string]int // invoice ID → webhook-id → 2xx answers
	requests map[string]int            // webhook-id → verified requests
	refused  int                       // requests that did not verify
	injected int
}

// StartReceiver listens on a free loopback port and serves until Close.
// It fails when no port can be had.
func StartReceiver(faults ReceiverFaults) (*Receiver, error) {
	if faults.Hold == 0 {
		faults.Hold = 2 * time.Second
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faults: receiver: %w", err)
	}
	r := &Receiver{
		faults:   faults,
		addr:     ln.Addr().String(),
		accepted: map[string]map[string]int{},
		requests: map[string]int{},
	}
	r.serve(ln)
	return r, nil
}

// URL returns the endpoint to subscribe.
func (r *Receiver) URL() string { return "http://" + r.addr + "/webhook" }

// SetSecret sets the whsec_ secret deliveries must be signed with.
func (r *Receiver) SetSecret(secret string) { r.secret.Store(&secret) }

// Down stops listening, so attempts find the connection refused, until Up.
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
		return fmt.Errorf("faults: receiver up: %w", err)
	}
	r.serve(ln)
	return nil
}

// Close stops the receiver for good.
func (r *Receiver) Close() error { return r.Down() }

func (r *Receiver) serve(ln net.Listener) {
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go func() { _ = srv.Serve(ln) }() // ends with http.ErrServerClosed
}

// ServeHTTP verifies one delivery, maybe injects a fault, and records it.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	secret := r.secret.Load()
	if err != nil || secret == nil || webhook.Verify(*secret, req.Header, body, time.Now(), 5*time.Minute) != nil {
		r.mu.Lock()
		r.refused++
		r.mu.Unlock()
		http.Error(w, "signature does not verify", http.StatusBadRequest)
		return
	}
	id := req.Header.Get(webhook.HeaderID)
	r.mu.Lock()
	r.requests[id]++
	r.mu.Unlock()
	if r.inject(w, req) {
		return
	}
	var payload struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &payload); err != nil || payload.Data.ID == "" {
		http.Error(w, "no invoice in the payload", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	ids := r.accepted[payload.Data.ID]
	if ids == nil {
		ids = map[string]int{}
		r.accepted[payload.Data.ID] = ids
	}
	ids[id]++
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// inject answers req with a fault, at the configured rates, and reports
// whether it did.
func (r *Receiver) inject(w http.ResponseWriter, req *http.Request) bool {
	f, roll := r.faults, rand.Float64()
	switch {
	case roll < f.ResetRate:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
	case roll < f.ResetRate+f.TimeoutRate:
		select {
		case <-time.After(f.Hold):
		case <-req.Context().Done():
		}
		http.Error(w, "held past the sender's timeout", http.StatusServiceUnavailable)
	case roll < f.ResetRate+f.TimeoutRate+f.FailRate:
		http.Error(w, "injected failure", http.StatusInternalServerError)
	default:
		return false
	}
	r.mu.Lock()
	r.injected++
	r.mu.Unlock()
	return true
}

// Accepted returns the webhook-ids accepted for invoice id, with how often
// each was.
func (r *Receiver) Accepted(id string) map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.accepted[id]))
	for k, v := range r.accepted[id] {
		out[k] = v
	}
	return out
}

// Requests returns how many verified requests carried webhook-id id,
// faults included.
func (r *Receiver) Requests(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests[id]
}

// Counts returns how many invoices were accepted at least once, how many
// requests did not verify, and how many faults were injected.
func (r *Receiver) Counts() (invoices, refused, injected int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.accepted), r.refused, r.injected
}
