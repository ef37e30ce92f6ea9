package serving

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Start is what a service's start waits for, since when, and why the last
// try failed; /readyz and the log report it until the start is done.
type Start struct {
	mu    sync.Mutex
	what  string    // what Start waits for; "" once done
	since time.Time // when that wait began
	err   error     // the last failure of that wait, nil before one
}

// NewStart returns a start that waits for "the start".
func NewStart() *Start { return &Start{what: "the start", since: time.Now()} }

// WaitFor records that Start now waits for what.
func (st *Start) WaitFor(what string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.what, st.since, st.err = what, time.Now(), nil
}

// Failed records why the latest try of the wait failed.
func (st *Start) Failed(err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.err = err
}

// Finish records that Start is done.
func (st *Start) Finish() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.what, st.err = "", nil
}

// Waiting returns what Start waits for, for how long and the last failure;
// what is "" once Start is done.
func (st *Start) Waiting() (what string, waited time.Duration, err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.what, time.Since(st.since).Round(100 * time.Millisecond), st.err
}

// Check returns nil once Start is done, and otherwise an error saying what
// it waits for, for how long, and why the last try failed.
func (st *Start) Check() error {
	what, waited, err := st.Waiting()
	switch {
	case what == "":
		return nil
	case err != nil:
		return fmt.Errorf("starting: waiting for %s for %s: %w", what, waited, err)
	}
	return fmt.Errorf("starting: waiting for %s for %s", what, waited)
}

// Handler answers while the service starts: /healthz and /readyz with
// health, which says what the start waits for, and every other request
// with 503 and Retry-After.
func (st *Start) Handler(health http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			health.ServeHTTP(w, r)
			return
		}
		detail := "starting"
		if err := st.Check(); err != nil {
			detail = err.Error()
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "urn:invoiced:problem:unavailable", "title": "Service unavailable",
			"status": http.StatusServiceUnavailable, "detail": detail})
	})
}

// Every calls report every interval until the returned func is called or
// ctx ends.
func Every(ctx context.Context, interval time.Duration, report func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				report()
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// LogWaiting logs, while the start waits for JetStream at where, for how
// long and why the last try failed.
func (st *Start) LogWaiting(log *slog.Logger, where string) {
	what, waited, err := st.Waiting()
	if what == "" {
		return
	}
	reason := "no answer yet"
	if err != nil {
		reason = err.Error()
	}
	log.Warn("waiting for JetStream", "url", where, "waited", waited, "err", reason)
}
