package client_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/invoiced/invoiced/client"
	"github.com/invoiced/invoiced/client/webhook"
	"github.com/invoiced/invoiced/internal/app"
	"github.com/invoiced/invoiced/internal/infra/config"
)

// The service every test and example of this package calls: started once
// in TestMain, in-process, with an embedded JetStream server in a
// temporary directory, API keys, and a quick webhook retry schedule.
var (
	baseURL string
	apiKey  = "client-test-key-0123456789abcdef0123456789"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		os.Exit(m.Run()) // a fuzzing worker runs fuzz targets alone
	}
	os.Exit(runWithService(m))
}

// runWithService starts the service, runs the tests and stops it.
func runWithService(m *testing.M) int {
	dir, err := os.MkdirTemp("", "invoiced-client-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	cfg, err := config.ParseServe([]string{
		"--addr", "127.0.0.1:0", "--data", dir, "--nats-listen", "off",
		"--api-keys", apiKey, "--webhook-retry-schedule", "50ms",
	}, func(string) string { return "" }, io.Discard)
	if err != nil {
		fmt.Fprintln(os.Stderr, "config:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	svc, err := app.Start(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		return 1
	}
	baseURL = "http://" + svc.Addr()
	code := m.Run()
	stop, cancelStop := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelStop()
	if err := svc.Shutdown(stop); err != nil {
		fmt.Fprintln(os.Stderr, "shutdown:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// newClient returns a client of the test service with its API key.
func newClient(t testing.TB, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(baseURL, append([]client.Option{client.WithAPIKey(apiKey)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testContext returns a context that ends with the test or after a minute.
func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// eventually calls cond until it returns true, failing the test with what
// when it has not within the given time.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for pause := 5 * time.Millisecond; !cond(); pause = min(2*pause, 200*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(pause)
	}
}

// receiver is a webhook endpoint that verifies deliveries and keeps their
// events; it answers 500 while failing is set.
type receiver struct {
	URL string

	mu       sync.Mutex
	verifier *webhook.Verifier
	events   []webhook.Event
	failing  bool
}

// newReceiver starts a receiver; set its secret with accept before the
// first delivery, which it refuses until then.
func newReceiver(t testing.TB) *receiver {
	t.Helper()
	r := &receiver{}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/hook"
	return r
}

// ServeHTTP verifies a delivery with webhook.Handler and keeps its event.
func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	v, failing := r.verifier, r.failing
	r.mu.Unlock()
	if failing || v == nil {
		http.Error(w, "not now", http.StatusInternalServerError)
		return
	}
	webhook.Handler(v, func(_ context.Context, ev webhook.Event) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.events = append(r.events, ev)
		return nil
	}).ServeHTTP(w, req)
}

// accept makes the receiver take deliveries signed with any of secrets.
func (r *receiver) accept(t testing.TB, secrets ...string) {
	t.Helper()
	v, err := webhook.NewVerifier(0, secrets...)
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.verifier = v
	r.mu.Unlock()
}

func (r *receiver) setFailing(f bool) {
	r.mu.Lock()
	r.failing = f
	r.mu.Unlock()
}

// received returns the events received so far.
func (r *receiver) received() []webhook.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]webhook.Event(nil), r.events...)
}

// find returns the first event received with the given webhook-id.
func (r *receiver) find(eventID string) (webhook.Event, bool) {
	for _, ev := range r.received() {
		if ev.ID == eventID {
			return ev, true
		}
	}
	return webhook.Event{}, false
}
