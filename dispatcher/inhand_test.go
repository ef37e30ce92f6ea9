package dispatcher

import (
	"context"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/natstest"
)

func TestInHandWaitsForTheHandlingToEnd(t *testing.T) {
	h := newInHand(1)
	ctx := context.Background()
	if h.waitFor(ctx, "d1", time.Hour) {
		t.Fatal("waited for a delivery not in hand")
	}
	end := h.begin("d1")
	h.begin("d1")() // a redelivery's begin and end: d1 stays in hand
	if h.waitFor(ctx, "d1", time.Millisecond) {
		t.Fatal("the handling ended when the redelivery's did")
	}
	waited := make(chan bool)
	go func() { waited <- h.waitFor(ctx, "d1", time.Hour) }()
	natstest.Eventually(t, 10*time.Second, "the waiter waits", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.waiting == 1
	})
	if h.waitFor(ctx, "d1", time.Hour) {
		t.Fatal("a second worker waited past the limit of one")
	}
	end()
	if !<-waited {
		t.Fatal("the waiter did not see the handling end")
	}
	if h.waitFor(ctx, "d1", time.Hour) {
		t.Fatal("waited for a delivery whose handling ended")
	}
}
