package bench

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/invoiced/invoiced/internal/webhook"
)

// Receiver is a webhook endpoint that verifies every delivery's signature
// and records when each invoice's webhook first arrived.
type Receiver struct {
	srv     *http.Server
	url     string
	mu      sync.Mutex
	secret  string
	arrived map[string]time.Time // invoice ID → first verified arrival
	repeats int                  // verified deliveries seen before (retries)
	refused int                  // deliveries that did not verify
}

// StartReceiver listens on a free loopback port. It fails when it cannot
// listen.
func StartReceiver() (*Receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Receiver{url: "http://" + ln.Addr().String() + "/webhook", arrived: map[string]time.Time{}}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// URL returns the address to subscribe.
func (r *Receiver) URL() string { return r.url }

// SetSecret sets the secret deliveries must be signed with.
func (r *Receiver) SetSecret(secret string) {
	r.mu.Lock()
	r.secret = secret
	r.mu.Unlock()
}

// ServeHTTP verifies one delivery and records its invoice's arrival.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil || webhook.Verify(r.secret, req.Header, body, now, 5*time.Minute) != nil {
		r.refused++
		http.Error(w, "signature does not verify", http.StatusUnauthorized)
		return
	}
	var payload struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &payload) != nil || payload.Data.ID == "" {
		r.refused++
		http.Error(w, "no invoice in the payload", http.StatusBadRequest)
		return
	}
	if _, seen := r.arrived[payload.Data.ID]; seen {
		r.repeats++
	} else {
		r.arrived[payload.Data.ID] = now
	}
	w.WriteHeader(http.StatusNoContent)
}

// Arrival returns when the webhook of invoice id first arrived.
func (r *Receiver) Arrival(id string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.arrived[id]
	return t, ok
}

// Counts returns how many invoices' webhooks arrived, how many deliveries
// were repeats, and how many did not verify.
func (r *Receiver) Counts() (arrived, repeats, refused int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.arrived), r.repeats, r.refused
}

// Close stops the receiver.
func (r *Receiver) Close() error { return r.srv.Close() }
