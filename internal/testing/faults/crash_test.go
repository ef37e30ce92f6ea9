package faults_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/faults"
	"github.com/invoiced/invoiced/internal/tool/loaddriver"
	"github.com/invoiced/invoiced/internal/tool/webhookrecv"
)

// TestKill9UnderLoad kills the all-in-one process with SIGKILL five times
// (fifty in a soak) at random moments under load, restarting it on the same data directory
// each time, with fsync always: nothing acknowledged is lost or doubled and
// every webhook arrives.
func TestKill9UnderLoad(t *testing.T) {
	killUnderLoad(t, 8, rounds(5, 50), func(p *faults.Proc, load *loaddriver.Load) {
		before, _ := load.Acked()
		awaitAcks(t, load, before+20, time.Minute)
		time.Sleep(rand.N(400 * time.Millisecond)) // the kill's moment, at random
	})
}

// TestKill9WhileBatchesAreInFlight loads the all-in-one process hard enough
// that its writers group publishes into atomic batches, and kills it with
// SIGKILL the moment both streams have just stored a batch, so that others
// are on their way: a batch the stream stored is whole, one it had not is
// retried by its writers' callers, and nothing acknowledged is lost or
// doubled.
func TestKill9WhileBatchesAreInFlight(t *testing.T) {
	killUnderLoad(t, 96, rounds(3, 30), func(p *faults.Proc, _ *loaddriver.Load) {
		awaitBatches(t, p.Base(), time.Minute)
	})
}

// killUnderLoad runs the all-in-one process under load by clients, kills it
// with SIGKILL kills times, each once moment returns, restarting it on the
// same data directory, and checks what came of every acknowledged invoice,
// and that a subscription ordered per invoice, whose endpoint fails every
// first attempt, got each invoice's events in order.
func killUnderLoad(t *testing.T, clients, kills int, moment func(*faults.Proc, *loaddriver.Load)) {
	args, natsURL := allInOne(t, "--webhook-timeout", "2s")
	p := faults.StartProc(t, "invoiced", faults.Serving, invoicedBin, args...)
	recv := startReceiver(t, webhookrecv.Config{})
	sub := subscribe(t, p.Base(), recv)
	ordered := startReceiver(t, webhookrecv.Config{FailFirst: true})
	subscribeOrdered(t, p.Base(), ordered)
	load := startLoad(t, loaddriver.Config{Bases: []string{p.Base()}, Concurrency: clients, Next: faults.Invoices(10, 0)})
	for i := range kills {
		moment(p, load)
		if err := p.Kill(); err != nil {
			t.Fatal(err)
		}
		acked, _ := load.Acked()
		t.Logf("kill %d after %d acknowledged", i+1, acked)
		p = faults.StartProc(t, "invoiced", faults.Serving, invoicedBin, args...)
	}
	before, _ := load.Acked()
	awaitAcks(t, load, before+20, time.Minute)
	target := faults.Target{Base: p.Base(), NATSURL: natsURL, Subscribers: []faults.Subscriber{sub}, Faults: kills}
	check(t, target, load)
	checkOrder(t, target, ordered, load.Acks())
}
