package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type fixture struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	// lastRequest is the stream sequence of the newest requested event.
	lastRequest uint64
}

func newFixture(t testing.TB) *fixture { return newFixtureWith(t, nil) }

// newFixtureWith is newFixture with INVOICES configured by edit too.
func newFixtureWith(t testing.TB, edit func(*jetstream.StreamConfig)) *fixture {
	t.Helper()
	srv := natstest.Start(t, natstest.Options{})
	_, js := natstest.Connect(t, srv)
	cfg := broker.Streams{DedupWindow: 100 * time.Millisecond}.InvoiceStreamConfig()
	if edit != nil {
		edit(&cfg)
	}
	st, err := broker.EnsureStream(context.Background(), js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{js: js, stream: st}
}

// request publishes an InvoiceRequested event and returns the invoice ID.
// testAccount owns the invoices a fixture requests.
const testAccount = "test"

func (f *fixture) request(t testing.TB, amount int64) string {
	t.Helper()
	id := uuid.NewString()
	ev := events.NewRequested(events.Invoice{
		ID: id, CustomerID: "cust", AmountCents: amount, Currency: "USD", CreatedAt: time.Now().UTC(),
	}, events.Idempotency{Caller: testAccount, Endpoint: "POST /invoices", Key: id, RequestHash: "h"})
	data, err := events.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := f.js.PublishMsg(context.Background(), &nats.Msg{Subject: ev.Subject(), Data: data}, jetstream.WithMsgID(ev.ID))
	if err != nil {
		t.Fatal(err)
	}
	f.lastRequest = max(f.lastRequest, ack.Sequence)
	return id
}

// start runs a processor until the test ends.
func (f *fixture) start(t testing.TB, cfg Config, setup func(*Processor)) *Processor {
	t.Helper()
	cfg.Logger = slog.New(slog.DiscardHandler)
	p, err := New(f.js, f.stream, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(p)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.Stop(ctx)
	})
	return p
}

// history returns every event stored for the invoice, oldest first.
func (f *fixture) history(t testing.TB, id string) []events.Event {
	t.Helper()
	cons, err := f.js.OrderedConsumer(context.Background(), events.StreamInvoices, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.InvoiceSubjects(id)},
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []events.Event
	for {
		batch, err := cons.FetchNoWait(100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for msg := range batch.Messages() {
			ev, err := events.DecodeMsg(msg.Subject(), msg.Data())
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, ev)
			n++
		}
		if n == 0 {
			return out
		}
	}
}

// awaitOutcome waits until the invoice has an outcome and returns its history.
func (f *fixture) awaitOutcome(t testing.TB, id string) []events.Event {
	t.Helper()
	natstest.Eventually(t, 15*time.Second, "outcome of "+id, func() bool {
		last, err := f.stream.GetLastMsgForSubject(context.Background(), events.InvoiceSubjects(id))
		return err == nil && last.Subject != events.Subject(testAccount, id, events.InvoiceRequested)
	})
	return f.history(t, id)
}

// awaitIdle waits until the processor's consumer has acknowledged every
// request. The ack floor is part of the test because the server counts a
// newly stored message as pending a moment after storing it.
func (f *fixture) awaitIdle(t testing.TB) {
	t.Helper()
	natstest.Eventually(t, 15*time.Second, "consumer idle", func() bool {
		info, err := f.js.Consumer(context.Background(), events.StreamInvoices, ConsumerName)
		if err != nil {
			return false
		}
		i, err := info.Info(context.Background())
		return err == nil && i.NumPending == 0 && i.NumAckPending == 0 && i.AckFloor.Stream >= f.lastRequest
	})
}

func wantOneOutcome(t testing.TB, hist []events.Event, want events.Type) events.Event {
	t.Helper()
	if len(hist) != 2 || hist[0].Type != events.InvoiceRequested || hist[1].Type != want {
		types := make([]events.Type, len(hist))
		for i, e := range hist {
			types[i] = e.Type
		}
		t.Fatalf("history %v, want [InvoiceRequested %s]", types, want)
	}
	return hist[1]
}

func TestOutcomes(t *testing.T) {
	f := newFixture(t)
	f.start(t, Config{MaxAmountCents: 1000}, nil)
	tests := []struct {
		amount int64
		want   events.Type
		status events.Status
		reason string
	}{
		{1, events.InvoiceProcessed, events.StatusProcessed, ""},
		{1000, events.InvoiceProcessed, events.StatusProcessed, ""},
		{1001, events.InvoiceFailed, events.StatusFailed, events.ReasonAmountExceedsLimit},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.amount), func(t *testing.T) {
			id := f.request(t, tt.amount)
			out := wantOneOutcome(t, f.awaitOutcome(t, id), tt.want)
			inv := out.Invoice
			if inv.Status != tt.status || inv.FailureReason != tt.reason || inv.AmountCents != tt.amount {
				t.Fatalf("outcome %+v", inv)
			}
			if (tt.status == events.StatusProcessed) != (inv.ProcessedAt != nil) || (tt.status == events.StatusFailed) != (inv.FailedAt != nil) {
				t.Fatalf("timestamps %v %v for %s", inv.ProcessedAt, inv.FailedAt, inv.Status)
			}
			if out.ID != events.EventID(id, tt.want) {
				t.Fatalf("event id %s", out.ID)
			}
		})
	}
	f.awaitIdle(t)
}

func TestCrashBetweenPublishAndAckStoresOneOutcome(t *testing.T) {
	f := newFixture(t)
	var crashes atomic.Int32
	f.start(t, Config{}, func(p *Processor) {
		p.afterPublish = func() {
			if crashes.Add(1) == 1 {
				panic("crash after publish, before ack")
			}
		}
	})
	id := f.request(t, 2500)
	f.awaitIdle(t)
	if crashes.Load() < 1 {
		t.Fatal("the crash hook never ran")
	}
	wantOneOutcome(t, f.history(t, id), events.InvoiceProcessed)
}

// A leader elected a moment ago refuses an outcome as if one were stored
// while it has yet to apply the requested event. Here the stream stands
// in for it by holding an older event of the invoice only.
func TestARefusedOutcomeIsNotTakenForAStoredOne(t *testing.T) {
	f := newFixtureWith(t, func(cfg *jetstream.StreamConfig) { cfg.DenyDelete = false })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id := f.request(t, 500)
	seq := f.republish(t, id)
	p, err := New(f.js, f.stream, Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	cons, err := f.js.CreateConsumer(ctx, events.StreamInvoices, p.ConsumerConfig())
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.FetchNoWait(2)
	if err != nil {
		t.Fatal(err)
	}
	var second jetstream.Msg
	for msg := range batch.Messages() {
		second = msg
	}
	if md, err := second.Metadata(); err != nil || md.Sequence.Stream != seq {
		t.Fatalf("fetched %+v (%v), want the request at %d", md, err, seq)
	}
	if err := f.stream.DeleteMsg(ctx, seq); err != nil {
		t.Fatal(err)
	}
	if err := p.Handle(ctx, second); !errors.Is(err, errNoOutcomeYet) {
		t.Fatalf("Handle = %v, want %v", err, errNoOutcomeYet)
	}
	if hist := f.history(t, id); len(hist) != 1 {
		t.Fatalf("history holds %d events, want the first request only", len(hist))
	}
}

// republish stores the invoice's requested event again under a new message
// ID and returns its sequence.
func (f *fixture) republish(t testing.TB, id string) uint64 {
	t.Helper()
	last, err := f.stream.GetLastMsgForSubject(context.Background(), events.InvoiceSubjects(id))
	if err != nil {
		t.Fatal(err)
	}
	ack, err := f.js.PublishMsg(context.Background(), &nats.Msg{Subject: last.Subject, Data: last.Data})
	if err != nil {
		t.Fatal(err)
	}
	f.lastRequest = max(f.lastRequest, ack.Sequence)
	return ack.Sequence
}

func TestReplayedRequestsNeverStoreASecondOutcome(t *testing.T) {
	f := newFixture(t)
	ids := []string{f.request(t, 500), f.request(t, 700)}
	first := f.start(t, Config{}, nil)
	for _, id := range ids {
		f.awaitOutcome(t, id)
	}
	f.awaitIdle(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := first.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// A recreated consumer delivers every request again as new, well past
	// the duplicate window, to a processor that would now decide otherwise.
	if err := f.js.DeleteConsumer(ctx, events.StreamInvoices, ConsumerName); err != nil {
		t.Fatal(err)
	}
	f.start(t, Config{MaxAmountCents: 1}, nil)
	f.awaitIdle(t)
	for _, id := range ids {
		wantOneOutcome(t, f.history(t, id), events.InvoiceProcessed)
	}
}

// barrier blocks each caller until n callers are inside at once.
type barrier struct {
	mu      sync.Mutex
	n, in   int
	release chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: n, release: make(chan struct{})} }

func (b *barrier) wait(ctx context.Context) error {
	b.mu.Lock()
	b.in++
	if b.in == b.n {
		close(b.release)
	}
	b.mu.Unlock()
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestWorkIsParallel(t *testing.T) {
	t.Run("within a process", func(t *testing.T) {
		f := newFixture(t)
		b := newBarrier(4)
		f.start(t, Config{Workers: 4}, func(p *Processor) { p.work = b.wait })
		ids := []string{f.request(t, 1), f.request(t, 2), f.request(t, 3), f.request(t, 4)}
		for _, id := range ids { // only reachable if all four ran at once
			f.awaitOutcome(t, id)
		}
	})
	t.Run("across processes", func(t *testing.T) {
		f := newFixture(t)
		b := newBarrier(2)
		f.start(t, Config{Workers: 1}, func(p *Processor) { p.work = b.wait })
		f.start(t, Config{Workers: 1}, func(p *Processor) { p.work = b.wait })
		ids := []string{f.request(t, 1), f.request(t, 2)}
		for _, id := range ids {
			f.awaitOutcome(t, id)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{Workers: -1}, {MaxAmountCents: -1}, {Delay: -time.Second}, {AckWait: -time.Second}} {
		if _, err := New(nil, nil, c); err == nil {
			t.Fatalf("%+v accepted", c)
		}
	}
	if err := (Config{}).Validate(); err != nil {
		t.Fatal(err)
	}
}
