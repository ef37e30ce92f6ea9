package faults_test

import (
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/faults"
)

// TestReceiverFaults delivers to one receiver that fails 30% of requests
// with a 500 and times out or cuts the connection on 10% more, and to one
// that is down for a while and comes back: every webhook arrives, every
// attempt is recorded, nothing is dead.
func TestReceiverFaults(t *testing.T) {
	args, natsURL := allInOne(t, "--fsync", "interval", "--webhook-timeout", "500ms")
	p := faults.StartProc(t, "invoiced", faults.Serving, invoicedBin, args...)
	flaky := startReceiver(t, faults.ReceiverFaults{FailRate: 0.3, TimeoutRate: 0.05, ResetRate: 0.05, Hold: time.Second})
	away := startReceiver(t, faults.ReceiverFaults{})
	subs := []faults.Subscriber{subscribe(t, p.Base(), flaky), subscribe(t, p.Base(), away)}
	load := startLoad(t, faults.LoadConfig{Bases: []string{p.Base()}, Clients: 4, FailEvery: 10})
	awaitAcks(t, load, rounds(100, 1000), time.Minute)
	if err := away.Down(); err != nil {
		t.Fatal(err)
	}
	n, _ := load.AckedSince()
	awaitAcks(t, load, n+200, time.Minute) // invoices whose webhooks find it down (the schedule outlasts it)
	if err := away.Up(); err != nil {
		t.Fatal(err)
	}
	n, _ = load.AckedSince()
	awaitAcks(t, load, n+rounds(100, 1000), 5*time.Minute)
	rep := check(t, faults.Target{Base: p.Base(), NATSURL: natsURL, Subscribers: subs, ExactLog: true}, load)
	if rep.FaultsInjected == 0 {
		t.Fatal("the flaky receiver injected no fault")
	}
}
