package faults_test

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/faults"
)

// TestKill9WhileBatchesAreInFlight loads the all-in-one process hard enough
// that its writers group publishes into atomic batches, and kills it with
// SIGKILL the moment both streams have just stored a batch, so that others
// are on their way: a batch the stream stored is whole, one it had not is
// retried by its writers' callers, and nothing acknowledged is lost or
// doubled.
func TestKill9WhileBatchesAreInFlight(t *testing.T) {
	args, natsURL := allInOne(t, "--webhook-timeout", "2s")
	p := faults.StartProc(t, "invoiced", faults.Serving, invoicedBin, args...)
	recv := startReceiver(t, faults.ReceiverFaults{})
	sub := subscribe(t, p.Base(), recv)
	load := startLoad(t, faults.LoadConfig{Bases: []string{p.Base()}, Clients: 96, FailEvery: 10})
	kills := rounds(3, 30)
	for i := range kills {
		awaitBatches(t, p.Base(), time.Minute)
		if err := p.Kill(); err != nil {
			t.Fatal(err)
		}
		acked, _ := load.AckedSince()
		t.Logf("kill %d, batches in flight, after %d acknowledged", i+1, acked)
		p = faults.StartProc(t, "invoiced", faults.Serving, invoicedBin, args...)
	}
	before, _ := load.AckedSince()
	awaitAcks(t, load, before+100, time.Minute)
	check(t, faults.Target{Base: p.Base(), NATSURL: natsURL, Subscribers: []faults.Subscriber{sub}, Faults: kills}, load)
}

// awaitBatches returns once the service at base has stored a new atomic
// batch on INVOICES and on WEBHOOKS since it was first asked, polling its
// metrics; it fails the test after within.
func awaitBatches(t *testing.T, base string, within time.Duration) {
	t.Helper()
	var first map[string]float64
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		now, err := batches(base)
		if err == nil && first == nil {
			first = now
		}
		if err == nil && now["INVOICES"] > first["INVOICES"] && now["WEBHOOKS"] > first["WEBHOOKS"] {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no new atomic batch on both streams within %s", within)
}

// batches returns invoiced_publish_batches_total by stream from the
// metrics at base.
func batches(base string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		name, value, ok := strings.Cut(lines.Text(), " ")
		stream, found := strings.CutPrefix(name, `invoiced_publish_batches_total{stream="`)
		if !ok || !found {
			continue
		}
		if out[strings.TrimSuffix(stream, `"}`)], err = strconv.ParseFloat(value, 64); err != nil {
			return nil, err
		}
	}
	return out, lines.Err()
}
