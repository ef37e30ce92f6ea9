package faults_test

import (
	"context"
	"testing"
	"time"

	"github.com/invoiced/invoiced/client"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/testing/faults"
	"github.com/invoiced/invoiced/internal/tool/loaddriver"
	"github.com/invoiced/invoiced/internal/tool/webhookrecv"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestCheckFindsBrokenPromises hands the checker acknowledgements the
// service never gave or cannot honour, and a subscriber that gets nothing:
// each is reported.
func TestCheckFindsBrokenPromises(t *testing.T) {
	args, natsURL := allInOne(t, "--fsync", "interval")
	p := faults.StartProc(t, "invoiced", faults.Serving, invoicedBin, args...)
	recv := startReceiver(t, webhookrecv.Config{})
	sub := subscribe(t, p.Base(), recv)
	load := startLoad(t, loaddriver.Config{Bases: []string{p.Base()}, Concurrency: 2, Next: faults.Invoices(0, 0)})
	awaitAcks(t, load, 5, time.Minute)
	load.Stop()
	acks := load.Acks()
	real := acks[0]
	acks = append(acks,
		loaddriver.Ack{Key: "never-sent", ID: "0b0a8f8e-6a52-5a3c-9a4e-111111111111", Want: client.InvoiceProcessed},
		loaddriver.Ack{Key: real.Key, ID: real.ID, Want: client.InvoiceFailed}, // processed, not failed
	)
	storeTwice(t, natsURL, acks[1].ID)
	deaf := faults.Subscriber{ID: "no-such-subscription", Receiver: startReceiver(t, webhookrecv.Config{})}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	rep, err := faults.Check(ctx, faults.Target{Base: p.Base(), NATSURL: natsURL, Subscribers: []faults.Subscriber{sub, deaf}}, acks)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rep)
	// The unknown invoice and the wrong status are lost, the one stored
	// twice is duplicated (the read model keeps its first request); every
	// other real invoice is undelivered to the deaf subscriber.
	if !rep.Failed() || rep.Lost != 2 || rep.Duplicated != 1 || rep.Undelivered != len(acks)-2 {
		t.Fatalf("report: %s", rep)
	}
}

// storeTwice stores invoice id's request a second time, straight to the
// stream, as a service that forgot its guard would.
func storeTwice(tb testing.TB, url, id string) {
	tb.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, events.StreamInvoices)
	if err != nil {
		tb.Fatal(err)
	}
	msg, err := st.GetLastMsgForSubject(ctx, events.EventSubjects(id, events.InvoiceRequested)[0])
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := js.Publish(ctx, msg.Subject, msg.Data, jetstream.WithMsgID("again-"+id)); err != nil {
		tb.Fatal(err)
	}
}
