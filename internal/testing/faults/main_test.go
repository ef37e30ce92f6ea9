package faults_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/invoiced/invoiced/client"
	"github.com/invoiced/invoiced/internal/testing/faults"
	"github.com/invoiced/invoiced/internal/tool/loaddriver"
	"github.com/invoiced/invoiced/internal/tool/webhookrecv"
)

// Binaries built once for every scenario.
var invoicedBin, natsServerBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "invoiced-faults")
	if err != nil {
		panic(err)
	}
	if invoicedBin, err = faults.Build(dir, "github.com/invoiced/invoiced", "invoiced"); err == nil {
		natsServerBin, err = faults.Build(dir, "github.com/nats-io/nats-server/v2", "nats-server")
	}
	if err != nil {
		os.RemoveAll(dir)
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// soak reports whether INVOICED_SOAK asks for the long runs: many more
// faults and invoices than CI has time for.
var soak = os.Getenv("INVOICED_SOAK") != ""

// rounds returns n, or long in a soak.
func rounds(n, long int) int {
	if soak {
		return long
	}
	return n
}

// fastSchedule retries a failed webhook within seconds, for long enough
// that no receiver fault of these scenarios runs it out.
const fastSchedule = "50ms,100ms,200ms,400ms,800ms,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s"

// allInOne returns the arguments of an all-in-one invoiced serve on fixed
// loopback addresses, so that a restarted process comes back where the
// clients and the checker look, with fsync always and fast webhook
// retries, followed by extra; and the URL of its NATS server.
func allInOne(tb testing.TB, extra ...string) (args []string, natsURL string) {
	tb.Helper()
	addr, natsAddr := faults.FreeAddr(tb), faults.FreeAddr(tb)
	args = append([]string{"serve", "--addr", addr, "--data", tb.TempDir(), "--nats-listen", natsAddr,
		"--fsync", "always", "--webhook-retry-schedule", fastSchedule}, extra...)
	return args, "nats://" + natsAddr
}

// startReceiver starts a receiver that closes when the test ends.
func startReceiver(tb testing.TB, cfg webhookrecv.Config) *webhookrecv.Receiver {
	tb.Helper()
	r, err := webhookrecv.Start(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = r.Close() })
	return r
}

// subscribe subscribes r to invoice.processed and invoice.failed at the
// service at base and gives r the subscription's secret.
func subscribe(tb testing.TB, base string, r *webhookrecv.Receiver) faults.Subscriber {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	api, err := client.New(base)
	if err != nil {
		tb.Fatal(err)
	}
	sub, err := api.CreateSubscription(ctx, client.SubscriptionParams{URL: r.URL(),
		EventTypes: []client.EventType{client.EventInvoiceProcessed, client.EventInvoiceFailed}})
	if err != nil {
		tb.Fatal(err)
	}
	if err := r.SetSecret(sub.Secret); err != nil {
		tb.Fatal(err)
	}
	return faults.Subscriber{ID: sub.ID, Receiver: r}
}

// startLoad starts a load, retrying each request for faults.RetryFor
// unless cfg says otherwise, that is stopped when the test ends if the
// test has not stopped it.
func startLoad(tb testing.TB, cfg loaddriver.Config) *loaddriver.Load {
	tb.Helper()
	if cfg.RetryFor == 0 {
		cfg.RetryFor = faults.RetryFor
	}
	l, err := loaddriver.Start(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Stop() })
	return l
}

// awaitAcks waits until the load has n acknowledged invoices.
func awaitAcks(tb testing.TB, l *loaddriver.Load, n int, within time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		got, _ := l.Acked()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d invoices acknowledged after %s, want %d; load: %+v", got, within, n, l.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// check waits for the service to settle, checks it, logs the report and
// fails the test on any broken promise or failed request.
func check(tb testing.TB, target faults.Target, l *loaddriver.Load) faults.Report {
	tb.Helper()
	stats := l.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := faults.Check(ctx, target, l.Acks())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Logf("%s", rep)
	tb.Logf("load: %d acknowledged, %d retries, %d gave up, %d unexpected, statuses %v",
		stats.Acknowledged, stats.Retries, stats.GaveUp, stats.Unexpected, stats.Statuses)
	switch {
	case rep.Failed():
		tb.Fatal("a promise was broken")
	case rep.Acknowledged == 0:
		tb.Fatal("nothing was acknowledged")
	case stats.GaveUp > 0 || stats.Unexpected > 0:
		tb.Fatalf("failed requests: %d gave up, %d unexpected (first: %s)", stats.GaveUp, stats.Unexpected, stats.FirstUnexpected)
	}
	return rep
}
