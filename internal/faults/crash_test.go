package faults_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/faults"
)

// TestKill9UnderLoad kills the all-in-one process with SIGKILL five times
// (fifty in a soak) at random moments under load, restarting it on the same data directory
// each time, with fsync always: nothing acknowledged is lost or doubled and
// every webhook arrives.
func TestKill9UnderLoad(t *testing.T) {
	args, natsURL := allInOne(t, "--webhook-timeout", "2s")
	p := faults.StartProc(t, "invoiced", faults.Serving, invoicedBin, args...)
	recv := startReceiver(t, faults.ReceiverFaults{})
	sub := subscribe(t, p.Base(), recv)
	load := startLoad(t, faults.LoadConfig{Bases: []string{p.Base()}, Clients: 8, FailEvery: 10})
	kills := rounds(5, 50)
	for i := range kills {
		before, _ := load.AckedSince()
		awaitAcks(t, load, before+20, time.Minute)
		time.Sleep(rand.N(400 * time.Millisecond)) // the kill's moment, at random
		if err := p.Kill(); err != nil {
			t.Fatal(err)
		}
		acked, _ := load.AckedSince()
		t.Logf("kill %d after %d acknowledged", i+1, acked)
		p = faults.StartProc(t, "invoiced", faults.Serving, invoicedBin, args...)
	}
	before, _ := load.AckedSince()
	awaitAcks(t, load, before+20, time.Minute)
	check(t, faults.Target{Base: p.Base(), NATSURL: natsURL, Subscribers: []faults.Subscriber{sub}, Faults: kills}, load)
}
