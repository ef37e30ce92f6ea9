package faults_test

import (
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/faults"
	"github.com/invoiced/invoiced/internal/tool/loaddriver"
	"github.com/invoiced/invoiced/internal/tool/webhookrecv"
)

// TestReceiverFaults delivers to one receiver that fails 30% of requests
// with a 500 and times out or cuts the connection on 10% more, and to one
// that is down for a while and comes back: every webhook arrives, every
// attempt is recorded, nothing is dead.
func TestReceiverFaults(t *testing.T) {
	args, natsURL := allInOne(t, "--fsync", "interval", "--webhook-timeout", "500ms")
	p := faults.StartProc(t, "invoiced", faults.Serving, invoicedBin, args...)
	flaky := startReceiver(t, webhookrecv.Config{FailRate: 0.3, TimeoutRate: 0.05, ResetRate: 0.05, Hold: time.Second})
	away := startReceiver(t, webhookrecv.Config{})
	subs := []faults.Subscriber{subscribe(t, p.Base(), flaky), subscribe(t, p.Base(), away)}
	load := startLoad(t, loaddriver.Config{Bases: []string{p.Base()}, Concurrency: 4, Next: faults.Invoices(10, 0)})
	awaitAcks(t, load, rounds(100, 1000), time.Minute)
	if err := away.Down(); err != nil {
		t.Fatal(err)
	}
	n, _ := load.Acked()
	awaitAcks(t, load, n+200, time.Minute) // invoices whose webhooks find it down (the schedule outlasts it)
	if err := away.Up(); err != nil {
		t.Fatal(err)
	}
	n, _ = load.Acked()
	awaitAcks(t, load, n+rounds(100, 1000), 5*time.Minute)
	rep := check(t, faults.Target{Base: p.Base(), NATSURL: natsURL, Subscribers: subs, ExactLog: true}, load)
	if rep.FaultsInjected == 0 {
		t.Fatal("the flaky receiver injected no fault")
	}
}
