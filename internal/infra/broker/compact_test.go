package broker_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/invoiced/invoiced/internal/infra/history"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/invoiced/invoiced/internal/testing/statetest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// compactFixture is a real JetStream server with every stream and the
// three durable consumers compaction waits for, whose messages a test
// acknowledges by hand.
type compactFixture struct {
	t         testing.TB
	js        jetstream.JetStream
	h         broker.Handles
	consumers map[string]jetstream.Consumer
	c         *broker.Compactor
}

const (
	processor = "processor"
	fanOut    = "fanout"
	delivery  = "delivery"
)

func newCompactFixture(t testing.TB) *compactFixture {
	t.Helper()
	_, js := natstest.Connect(t, natstest.Start(t, natstest.Options{}))
	fx := &compactFixture{t: t, js: js, h: statetest.Streams(t, js, broker.Streams{}), consumers: map[string]jetstream.Consumer{}}
	for name, c := range map[string]struct {
		stream  string
		filters []string
	}{
		processor: {events.StreamInvoices, events.KindSubjects(events.InvoiceRequested)},
		fanOut:    {events.StreamInvoices, []string{events.AllSubjects}},
		delivery:  {webhook.StreamWebhooks, webhook.TaskFilters},
	} {
		cons, err := js.CreateConsumer(context.Background(), c.stream, jetstream.ConsumerConfig{
			Durable: name, FilterSubjects: c.filters, AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		fx.consumers[name] = cons
	}
	fx.c = broker.NewCompactor(js, broker.Compaction{InvoicesAfter: time.Millisecond, TasksAfter: time.Millisecond,
		Processor: processor, FanOut: fanOut, Delivery: delivery})
	return fx
}

func (fx *compactFixture) publish(subject string, hdr nats.Header) uint64 {
	fx.t.Helper()
	ack, err := fx.js.PublishMsg(context.Background(), &nats.Msg{Subject: subject, Header: hdr, Data: []byte("{}")})
	if err != nil {
		fx.t.Fatalf("publish %s: %v", subject, err)
	}
	return ack.Sequence
}

// ack acknowledges the next n messages of consumer name.
func (fx *compactFixture) ack(name string, n int) {
	fx.t.Helper()
	for range n {
		msg, err := fx.consumers[name].Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			fx.t.Fatalf("%s: %v", name, err)
		}
		if err := msg.DoubleAck(context.Background()); err != nil {
			fx.t.Fatal(err)
		}
	}
}

// fetch takes the next message of consumer name and does not acknowledge it.
func (fx *compactFixture) fetch(name string) jetstream.Msg {
	fx.t.Helper()
	msg, err := fx.consumers[name].Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		fx.t.Fatalf("%s: %v", name, err)
	}
	return msg
}

// settled compacts, once the history has copied what there is and the
// least times have passed, and returns the streams' states then.
func (fx *compactFixture) settled() (invoices, webhooks jetstream.StreamState) {
	fx.t.Helper()
	ctx := context.Background()
	if err := history.AwaitInvoices(ctx, fx.js); err != nil {
		fx.t.Fatal(err)
	}
	natstest.Eventually(fx.t, 5*time.Second, "the history copies the settled records", func() bool {
		last, err := fx.h.Webhooks.GetLastMsgForSubject(ctx, webhook.AllDone)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return true
		}
		copied, cerr := history.Copied(ctx, fx.js, history.Deliveries)
		return err == nil && cerr == nil && copied >= last.Sequence
	})
	return fx.compacted()
}

// compacted compacts three times, the samples of the first two past every
// least time by the third, and returns the streams' states then.
func (fx *compactFixture) compacted() (invoices, webhooks jetstream.StreamState) {
	fx.t.Helper()
	for range 3 {
		start := time.Now()
		if err := fx.c.Compact(context.Background()); err != nil {
			fx.t.Fatal(err)
		}
		for time.Since(start) < 2*time.Millisecond {
			time.Sleep(time.Millisecond)
		}
	}
	return fx.state(fx.h.Invoices), fx.state(fx.h.Webhooks)
}

func (fx *compactFixture) state(st jetstream.Stream) jetstream.StreamState {
	fx.t.Helper()
	info, err := st.Info(context.Background())
	if err != nil {
		fx.t.Fatal(err)
	}
	return info.State
}

func invoice(n int) string { return fmt.Sprintf("inv-%03d", n) }

func TestCompactionRemovesWhatEveryConsumerHandled(t *testing.T) {
	fx := newCompactFixture(t)
	for n := range 5 {
		fx.publish(events.Subject(events.DefaultAccount, invoice(n), events.InvoiceRequested), nil)
	}
	for n := range 5 {
		fx.publish(events.Subject(events.DefaultAccount, invoice(n), events.InvoiceProcessed), nil)
	}
	if inv, _ := fx.settled(); inv.FirstSeq != 1 || inv.Msgs != 10 {
		t.Fatalf("removed before any consumer handled it: %+v", inv)
	}
	fx.ack(processor, 5) // every request
	fx.ack(fanOut, 3)
	if inv, _ := fx.settled(); inv.FirstSeq != 4 || inv.Msgs != 7 {
		t.Fatalf("after the fan-out handled 3: first %d, %d left; want 4, 7", inv.FirstSeq, inv.Msgs)
	}
	fx.ack(fanOut, 7)
	// The processor has acknowledged up to the last request only: the
	// outcomes after it wait for a later one.
	if inv, _ := fx.settled(); inv.Msgs != 5 || inv.FirstSeq != 6 {
		t.Fatalf("after everything was handled: first %d, %d left; want 6, 5", inv.FirstSeq, inv.Msgs)
	}
	fx.publish(events.Subject(events.DefaultAccount, invoice(5), events.InvoiceRequested), nil)
	fx.ack(processor, 1)
	fx.ack(fanOut, 1)
	if inv, _ := fx.settled(); inv.Msgs != 0 || inv.FirstSeq != 12 {
		t.Fatalf("after a later request was handled: %+v", inv)
	}
	// The history keeps it all.
	if h := fx.state(fx.h.History); h.Msgs != 11 {
		t.Fatalf("the history holds %d events, want 11", h.Msgs)
	}
}

func TestCompactionWaitsForEveryConsumerAndTheHistory(t *testing.T) {
	fx := newCompactFixture(t)
	fx.publish(events.Subject(events.DefaultAccount, invoice(1), events.InvoiceRequested), nil)
	fx.ack(processor, 1)
	fx.ack(fanOut, 1)
	ctx := context.Background()
	if err := fx.js.DeleteConsumer(ctx, events.StreamInvoices, processor); err != nil {
		t.Fatal(err)
	}
	if inv, _ := fx.settled(); inv.Msgs != 1 {
		t.Fatalf("removed while a consumer is missing: %+v", inv)
	}
	if _, err := fx.js.CreateConsumer(ctx, events.StreamInvoices, jetstream.ConsumerConfig{Durable: processor,
		FilterSubjects: events.KindSubjects(events.InvoiceRequested), AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	fx.consumers[processor], _ = fx.js.Consumer(ctx, events.StreamInvoices, processor)
	fx.ack(processor, 1)
	if inv, _ := fx.settled(); inv.Msgs != 0 {
		t.Fatalf("not removed once every consumer has it: %+v", inv)
	}
	// A history deleted behind its back is made again, and an event leaves
	// INVOICES only once the new one holds it.
	if err := fx.js.DeleteStream(ctx, history.SegmentName(1)); err != nil {
		t.Fatal(err)
	}
	fx.publish(events.Subject(events.DefaultAccount, invoice(2), events.InvoiceRequested), nil)
	fx.ack(processor, 1)
	fx.ack(fanOut, 1)
	if err := fx.c.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if inv := fx.state(fx.h.Invoices); inv.Msgs != 1 {
		t.Fatalf("removed before the new history could hold it: %+v", inv)
	}
	if inv, _ := fx.settled(); inv.Msgs != 0 {
		t.Fatalf("not removed once the new history holds it: %+v", inv)
	}
	if copied, err := history.Copied(ctx, fx.js, history.Invoices); err != nil || copied != 2 {
		t.Fatalf("the new history holds INVOICES up to %d, %v; want 2", copied, err)
	}
}

func TestCompactionKeepsRetriesAndTasksOfUnfinishedFanOuts(t *testing.T) {
	fx := newCompactFixture(t)
	// An event the fan-out has in hand, not acknowledged: the tasks it
	// published must stay, so a repeat finds them.
	fx.publish(events.Subject(events.DefaultAccount, invoice(1), events.InvoiceRequested), nil)
	fx.ack(processor, 1)
	inHand := fx.fetch(fanOut)
	task := fx.publish(webhook.TaskSubject("sub", "d1"), nil)
	schedule := nats.Header{}
	schedule.Set(jetstream.ScheduleHeader, "@at "+time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	schedule.Set(jetstream.ScheduleTargetHeader, webhook.RetryTaskSubject("sub", "d1"))
	fx.publish(webhook.ScheduleSubject("sub", "d1"), schedule)
	done := fx.publish(webhook.DoneSubject("sub", "d2"), nil)
	fx.ack(delivery, 1)
	if _, wh := fx.settled(); wh.FirstSeq != task || wh.Msgs != 3 {
		t.Fatalf("removed a task of an unfinished fan-out: %+v", wh)
	}
	if err := inHand.DoubleAck(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The task goes; the settled record after it waits until a later task
	// is handled, and the waiting retry stays.
	if _, wh := fx.settled(); wh.Msgs != 2 || wh.FirstSeq != task+1 || wh.LastSeq != done {
		t.Fatalf("after the fan-out finished: %+v", wh)
	}
	fx.publish(webhook.TaskSubject("sub", "d3"), nil)
	fx.ack(delivery, 1)
	if _, wh := fx.settled(); wh.Msgs != 1 || wh.FirstSeq != task+1 {
		t.Fatalf("after a later task: %+v", wh)
	}
	if _, err := fx.h.Webhooks.GetLastMsgForSubject(context.Background(), webhook.ScheduleSubject("sub", "d1")); err != nil {
		t.Fatalf("the waiting retry was removed: %v", err)
	}
}

// TestRunningCompactionPurgesInvoicesAtItsOwnPace runs compactors that
// tick every 20 ms: one whose INVOICES pace is an hour removes the handled
// task but leaves the handled event; one whose pace is its tick removes it.
func TestRunningCompactionPurgesInvoicesAtItsOwnPace(t *testing.T) {
	fx := newCompactFixture(t)
	fx.publish(events.Subject(events.DefaultAccount, invoice(1), events.InvoiceRequested), nil)
	fx.ack(processor, 1)
	fx.ack(fanOut, 1)
	fx.publish(webhook.TaskSubject("sub", "d1"), nil)
	fx.ack(delivery, 1)
	if err := history.AwaitInvoices(context.Background(), fx.js); err != nil {
		t.Fatal(err)
	}
	start := func(invoicesEvery time.Duration) *broker.Compactor {
		return broker.StartCompactor(fx.js, broker.Compaction{Every: 20 * time.Millisecond, InvoicesEvery: invoicesEvery,
			InvoicesAfter: time.Millisecond, TasksAfter: time.Millisecond, Processor: processor, FanOut: fanOut, Delivery: delivery})
	}
	slow := start(time.Hour)
	natstest.Eventually(t, 10*time.Second, "the handled task leaves WEBHOOKS", func() bool {
		return fx.state(fx.h.Webhooks).Msgs == 0
	})
	slow.Stop()
	if inv := fx.state(fx.h.Invoices); inv.Msgs != 1 {
		t.Fatalf("INVOICES purged before its pace allowed: %+v", inv)
	}
	defer start(20 * time.Millisecond).Stop()
	natstest.Eventually(t, 10*time.Second, "the handled event leaves INVOICES", func() bool {
		return fx.state(fx.h.Invoices).Msgs == 0
	})
}
