package faults_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/app"
	"github.com/invoiced/invoiced/internal/infra/config"
	"github.com/invoiced/invoiced/internal/testing/faults"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/invoiced/invoiced/internal/tool/loaddriver"
	"github.com/invoiced/invoiced/internal/tool/webhookrecv"
)

// TestBrokerOutage stops NATS under load. While it is away the API answers
// 503 with Retry-After, every request within its timeout, and requests do
// not pile up goroutines; when NATS returns every role recovers by itself
// and every acknowledged invoice is processed and delivered.
func TestBrokerOutage(t *testing.T) {
	store := t.TempDir()
	srv := natstest.Start(t, natstest.Options{StoreDir: store, SyncAlways: true})
	port := natstest.Port(t, srv)
	url := srv.ClientURL()
	cfg, err := config.ParseServe([]string{"--addr", "127.0.0.1:0", "--data", t.TempDir(), "--nats-url", url, "--request-timeout", "1s", "--webhook-allow-private",
		"--webhook-retry-schedule", fastSchedule}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := app.Start(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			stopService(t, svc)
		}
	})
	base := "http://" + svc.Addr()
	sub := subscribe(t, base, startReceiver(t, webhookrecv.Config{}))
	load := startLoad(t, loaddriver.Config{Bases: []string{base}, Concurrency: 4, Next: faults.Invoices(10, 0)})
	awaitAcks(t, load, 50, time.Minute)

	srv.Shutdown()
	srv.WaitForShutdown()
	probe(t, base, "warm", 50) // the first answers after the outage begins
	before := settledGoroutines()
	slowest := probe(t, base, "outage", 300)
	// Every request was answered; what they started must end with them.
	deadline := time.Now().Add(30 * time.Second)
	for runtime.NumGoroutine() > before+20 {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines piled up: %d before 300 requests during the outage, %d after", before, runtime.NumGoroutine())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("300 requests during the outage: slowest 503 after %s (request timeout 1s); goroutines %d before, %d after",
		slowest.Round(time.Millisecond), before, runtime.NumGoroutine())
	awaitRefusals(t, load, 20) // the load's clients, too, meet the outage

	natstest.Start(t, natstest.Options{StoreDir: store, Port: port, SyncAlways: true})
	t.Log("NATS is back")
	n, _ := load.Acked()
	awaitAcks(t, load, n+50, time.Minute)
	check(t, faults.Target{Base: base, NATSURL: url, Subscribers: []faults.Subscriber{sub}, Faults: 1}, load)
	stopped = true
	stopService(t, svc) // while NATS is up
}

// settledGoroutines returns the fewest goroutines seen over half a second,
// once idle connections have had a moment to close.
func settledGoroutines() int {
	fewest := runtime.NumGoroutine()
	for range 10 {
		time.Sleep(50 * time.Millisecond)
		fewest = min(fewest, runtime.NumGoroutine())
	}
	return fewest
}

// awaitRefusals waits until the load has been answered 503 n times.
func awaitRefusals(tb testing.TB, l *loaddriver.Load, n int) {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for l.Stats().Statuses[http.StatusServiceUnavailable] < n {
		if time.Now().After(deadline) {
			tb.Fatalf("load answered 503 %d times in a minute, want %d", l.Stats().Statuses[http.StatusServiceUnavailable], n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// probe sends n requests at once with fresh keys while NATS is away; each
// must be answered 503 with Retry-After, none may hang. It returns how long
// the slowest answer took.
func probe(tb testing.TB, base, prefix string, n int) time.Duration {
	tb.Helper()
	var mu sync.Mutex
	var slowest time.Duration
	client := &http.Client{Timeout: 15 * time.Second} // the request timeout is 1s
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			body := `{"customer_id":"cust_1","amount_cents":100,"currency":"USD"}`
			req, _ := http.NewRequest(http.MethodPost, base+"/invoices", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", fmt.Sprintf("%s-%d", prefix, i))
			began := time.Now()
			res, err := client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			slowest = max(slowest, time.Since(began))
			mu.Unlock()
			defer res.Body.Close()
			_, _ = io.Copy(io.Discard, res.Body)
			if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" ||
				res.Header.Get("Content-Type") != "application/problem+json" {
				errs <- fmt.Errorf("%d, Retry-After %q, %s", res.StatusCode, res.Header.Get("Retry-After"), res.Header.Get("Content-Type"))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatalf("during the outage: %v", err)
	}
	return slowest
}

func stopService(tb testing.TB, svc *app.Service) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := svc.Shutdown(ctx); err != nil {
		tb.Errorf("shutdown: %v", err)
	}
}
