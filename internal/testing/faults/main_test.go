package faults_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/client"
	"github.com/invoiced/invoiced/internal/testing/faults"
	"github.com/invoiced/invoiced/internal/tool/loaddriver"
	"github.com/invoiced/invoiced/internal/tool/webhookrecv"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
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
	return subscribeWith(tb, base, r, client.SubscriptionParams{
		EventTypes: []client.EventType{client.EventInvoiceProcessed, client.EventInvoiceFailed}})
}

// subscribeOrdered subscribes r to every invoice event, ordered per
// invoice, at the service at base and gives r the subscription's secret.
func subscribeOrdered(tb testing.TB, base string, r *webhookrecv.Receiver) faults.Subscriber {
	tb.Helper()
	return subscribeWith(tb, base, r, client.SubscriptionParams{Ordering: client.OrderingPerInvoice,
		EventTypes: []client.EventType{client.EventInvoiceCreated, client.EventInvoiceProcessed, client.EventInvoiceFailed}})
}

// subscribeWith subscribes r, as params asks, at the service at base and
// gives r the subscription's secret.
func subscribeWith(tb testing.TB, base string, r *webhookrecv.Receiver, params client.SubscriptionParams) faults.Subscriber {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	api, err := client.New(base)
	if err != nil {
		tb.Fatal(err)
	}
	params.URL = r.URL()
	sub, err := api.CreateSubscription(ctx, params)
	if err != nil {
		tb.Fatal(err)
	}
	if err := r.SetSecret(sub.Secret); err != nil {
		tb.Fatal(err)
	}
	return faults.Subscriber{ID: sub.ID, Receiver: r}
}

// checkOrder waits until r, subscribed with subscribeOrdered, has
// accepted both webhooks of every acknowledged invoice, and fails the test
// when an invoice's outcome was sent before its invoice.created was
// accepted.
func checkOrder(tb testing.TB, target faults.Target, r *webhookrecv.Receiver, acks []loaddriver.Ack) {
	tb.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for _, a := range acks {
		for len(r.Accepted(a.ID)) < 2 {
			if time.Now().After(deadline) {
				tb.Fatalf("invoice %s: webhooks %v accepted at the ordered subscription, want its two; its deliveries:\n%s",
					a.ID, r.Accepted(a.ID), deliveriesOf(target.Base, target.NATSURL, a.ID))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if late := r.OutOfOrder(); len(late) > 0 {
		tb.Fatalf("%d invoices had their outcome sent before their invoice.created was accepted, first %s", len(late), late[0])
	}
	tb.Logf("ordered subscription: both webhooks of %d invoices, in order; %d first attempts failed", len(acks), r.Counts().Injected)
}

// deliveriesOf describes the deliveries of invoice id at the service at
// base, and their messages on WEBHOOKS at natsURL, for a failure's message.
func deliveriesOf(base, natsURL, id string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	api, err := client.New(base)
	if err != nil {
		return err.Error()
	}
	nc, err := nats.Connect(natsURL)
	if err != nil {
		return err.Error()
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	tasks, err := js.Stream(ctx, "WEBHOOKS")
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for d, err := range api.ListDeliveries(ctx, client.DeliveryListParams{InvoiceID: id}) {
		if err != nil {
			return b.String() + err.Error()
		}
		fmt.Fprintf(&b, "%s %s to %s: %s %q, next %v\n", d.ID, d.EventType, d.SubscriptionID, d.Status, d.Reason, d.NextAttemptAt)
		for _, a := range d.Attempts {
			fmt.Fprintf(&b, "  attempt %d at %s: %d %s\n", a.Number, a.StartedAt.Format(time.RFC3339Nano), a.HTTPStatus, a.Error)
		}
		if kv, err := js.KeyValue(ctx, "webhook_deliveries"); err == nil {
			if h, err := kv.History(ctx, d.ID); err == nil {
				for _, e := range h {
					var rec client.Delivery
					_ = json.Unmarshal(e.Value(), &rec)
					fmt.Fprintf(&b, "  live record, revision %d at %s: %s, %d attempts, updated %s\n", e.Revision(), e.Created().Format(time.RFC3339Nano),
						rec.Status, len(rec.Attempts), rec.UpdatedAt.Format(time.RFC3339Nano))
				}
			}
		}
		for _, suffix := range []string{"", ".retry", ".schedule", ".manual", ".done"} {
			if m, err := tasks.GetLastMsgForSubject(ctx, "webhooks."+d.SubscriptionID+"."+d.ID+suffix); err == nil {
				fmt.Fprintf(&b, "  %q: message %d at %s %v\n", suffix, m.Sequence, m.Time.Format(time.RFC3339Nano), m.Header)
			}
		}
	}
	if c, err := js.Consumer(ctx, "INVOICES", "dispatcher-fanout"); err == nil {
		fmt.Fprintf(&b, "fan-out: ack floor %d, delivered %d, ack pending %d\n", c.CachedInfo().AckFloor.Stream, c.CachedInfo().Delivered.Stream, c.CachedInfo().NumAckPending)
	}
	return b.String()
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
