package faults_test

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/faults"
	"github.com/invoiced/invoiced/internal/tool/loaddriver"
	"github.com/invoiced/invoiced/internal/tool/webhookrecv"
)

// TestGracefulRestartUnderLoad stops the service with SIGTERM three times
// (twenty in a soak) under load and starts it again on the same data:
// every stop is clean, no request fails for a client that retries (503s,
// and refused connections while no process listens), nothing is lost.
func TestGracefulRestartUnderLoad(t *testing.T) {
	args, natsURL := allInOne(t, "--process-delay", "20ms")
	p := faults.StartProc(t, "invoiced", faults.Serving, invoicedBin, args...)
	sub := subscribe(t, p.Base(), startReceiver(t, webhookrecv.Config{}))
	load := startLoad(t, loaddriver.Config{Bases: []string{p.Base()}, Concurrency: 8, Next: faults.Invoices(10, 0)})
	restarts := rounds(3, 20)
	for range restarts {
		n, _ := load.Acked()
		awaitAcks(t, load, n+50, time.Minute)
		time.Sleep(rand.N(200 * time.Millisecond)) // the stop's moment, at random
		if err := p.Stop(syscall.SIGTERM, time.Minute); err != nil {
			t.Fatalf("SIGTERM: %v\n%s", err, p.Logs())
		}
		p = faults.StartProc(t, "invoiced", faults.Serving, invoicedBin, args...)
	}
	n, _ := load.Acked()
	awaitAcks(t, load, n+50, time.Minute)
	check(t, faults.Target{Base: p.Base(), NATSURL: natsURL, Subscribers: []faults.Subscriber{sub}, Faults: restarts}, load)
}
