package dispatcher

import (
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// firsts is an Observer that keeps the first deliveries it is told of.
type firsts struct {
	noObserver
	mu   sync.Mutex
	seen map[string][]time.Duration
}

func (o *firsts) Delivered(eventType string, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen[eventType] = append(o.seen[eventType], d)
}

func (o *firsts) get() map[string][]time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string][]time.Duration{}
	for k, v := range o.seen {
		out[k] = slices.Clone(v)
	}
	return out
}

// TestFirstDeliveriesAreObservedOnce delivers an invoice's two events to an
// endpoint that fails every other request: each is observed once, on its
// success, as the time since the invoice was accepted.
func TestFirstDeliveriesAreObservedOnce(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n%2 == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	sub := f.subscribe(t, rc.URL)
	obs := &firsts{seen: map[string][]time.Duration{}}
	f.start(t, Config{Observer: obs})
	began := time.Now()
	evs := f.invoiceEvents(t)
	for _, ev := range evs {
		f.awaitDelivery(t, ev.ID, sub.ID, webhook.DeliveryDelivered)
	}
	took := time.Since(began)
	natstest.Eventually(t, 5*time.Second, "both first deliveries observed", func() bool { return len(obs.get()) == 2 })
	for _, typ := range []string{webhook.EventInvoiceCreated, webhook.EventInvoiceProcessed} {
		if got := obs.get()[typ]; len(got) != 1 || got[0] <= 0 || got[0] > took+time.Second {
			t.Fatalf("%s observed as %v, want once, within %s", typ, got, took)
		}
	}
}
