package consume

import (
	"context"
	"sync"
	"testing"

	"github.com/invoiced/invoiced/internal/testing/goroutines"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/nats-io/nats.go/jetstream"
)

// TestPoolReusesWorkersAndEndsThemOnStop handles many messages on a few
// workers and checks that they ran on far fewer goroutines than messages,
// and that none of them is left once Stop returns.
func TestPoolReusesWorkersAndEndsThemOnStop(t *testing.T) {
	const messages, workers = 200, 4
	f := filledFixture(t, messages)
	var (
		mu      sync.Mutex
		ran     = map[string]bool{}
		handled int
	)
	handler := func(ctx context.Context, msg jetstream.Msg) error {
		mu.Lock()
		defer mu.Unlock()
		ran[goroutines.ID()] = true
		handled++
		return nil
	}
	p := startPool(t, f.cons, handler, Options{Workers: workers})
	f.awaitSettled(t, messages)
	if err := stopWithin(t, testContext(t), p); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	mu.Lock()
	if handled != messages || len(ran) > messages/4 {
		t.Errorf("%d messages handled on %d goroutines; want %d on at most %d", handled, len(ran), messages, messages/4)
	}
	mu.Unlock()
	natstest.Eventually(t, patience, "no worker left after Stop", func() bool {
		return goroutines.Running("consume.(*Pool).work") == 0
	})
}
