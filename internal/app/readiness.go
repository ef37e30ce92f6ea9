package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/invoiced/invoiced/dispatcher"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/webhook"
	"github.com/invoiced/invoiced/processor"
)

// waitLogInterval is how often a start that waits for NATS or JetStream
// says so in the log.
const waitLogInterval = 5 * time.Second

// ready is the /readyz check: the start done, NATS connected, the stream
// and consumers answering, and the read model holding what the history
// held at start.
func (s *Service) ready(ctx context.Context) error {
	if err := s.starting.check(); err != nil {
		return err
	}
	if !s.nc.IsConnected() {
		return fmt.Errorf("NATS is %s", s.nc.Status())
	}
	if s.follower != nil {
		if err := s.follower.Ready(); err != nil {
			return err
		}
	}
	if _, err := s.js.Stream(ctx, events.StreamInvoices); err != nil {
		return fmt.Errorf("stream %s: %w", events.StreamInvoices, err)
	}
	if s.proc != nil {
		if _, err := s.js.Consumer(ctx, events.StreamInvoices, processor.ConsumerName); err != nil {
			return fmt.Errorf("consumer %s: %w", processor.ConsumerName, err)
		}
	}
	if s.disp != nil {
		if _, err := s.js.Consumer(ctx, webhook.StreamWebhooks, dispatcher.DeliveryConsumer); err != nil {
			return fmt.Errorf("consumer %s: %w", dispatcher.DeliveryConsumer, err)
		}
	}
	return nil
}

// startState is what Start waits for, since when, and why the last try
// failed; /readyz and the log report it until Start is done.
type startState struct {
	mu    sync.Mutex
	what  string    // what Start waits for; "" once done
	since time.Time // when that wait began
	err   error     // the last failure of that wait, nil before one
}

func newStartState() *startState { return &startState{what: "the start", since: time.Now()} }

// waitFor records that Start now waits for what.
func (st *startState) waitFor(what string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.what, st.since, st.err = what, time.Now(), nil
}

// failed records why the latest try of the wait failed.
func (st *startState) failed(err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.err = err
}

// finish records that Start is done.
func (st *startState) finish() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.what, st.err = "", nil
}

// waiting returns what Start waits for, for how long and the last failure;
// what is "" once Start is done.
func (st *startState) waiting() (what string, waited time.Duration, err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.what, time.Since(st.since).Round(100 * time.Millisecond), st.err
}

// check returns nil once Start is done, and otherwise an error saying what
// it waits for, for how long, and why the last try failed.
func (st *startState) check() error {
	what, waited, err := st.waiting()
	switch {
	case what == "":
		return nil
	case err != nil:
		return fmt.Errorf("starting: waiting for %s for %s: %w", what, waited, err)
	}
	return fmt.Errorf("starting: waiting for %s for %s", what, waited)
}

// startingHandler answers while the service starts: /healthz and /readyz
// with health, which says what the start waits for, and every other
// request with 503 and Retry-After.
func startingHandler(health http.Handler, st *startState) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			health.ServeHTTP(w, r)
			return
		}
		detail := "starting"
		if err := st.check(); err != nil {
			detail = err.Error()
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "urn:invoiced:problem:unavailable", "title": "Service unavailable",
			"status": http.StatusServiceUnavailable, "detail": detail})
	})
}

// reportWaiting logs what the start waits for every waitLogInterval until
// the returned func is called or ctx ends.
func (s *Service) reportWaiting(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(waitLogInterval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				s.logWaiting()
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// logWaiting logs what the start waits for, where, for how long and why.
func (s *Service) logWaiting() {
	what, waited, err := s.starting.waiting()
	if what == "" {
		return
	}
	reason := "no answer yet"
	if err != nil {
		reason = err.Error()
	}
	s.log.Warn("waiting for JetStream", "url", s.natsWhere(), "waited", waited, "err", reason)
}

// natsWhere names the NATS this process uses, for the log and /readyz: the
// embedded server, or --nats-url with any user, password or token hidden.
func (s *Service) natsWhere() string {
	if s.cfg.Embedded() {
		return "the embedded server (in-process)"
	}
	return redactURLs(s.cfg.NATSURL)
}

// redactURLs returns a comma-separated list of URLs with the user
// information of each replaced, since it may hold a password or token.
func redactURLs(list string) string {
	parts := strings.Split(list, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		switch {
		case err != nil:
			parts[i] = "(unparsable URL)"
		case u.User != nil:
			u.User = url.User("redacted")
			parts[i] = u.String()
		default:
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}
