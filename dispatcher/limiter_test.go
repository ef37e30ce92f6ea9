package dispatcher

import (
	"context"
	"testing"
	"time"
)

func TestLimiterWaitsForAFreedSlot(t *testing.T) {
	tests := []struct {
		name    string
		release bool // a slot is given back while the caller waits
		cancel  bool // the caller's context ends while it waits
		wait    time.Duration
		want    bool
	}{
		{name: "slot given back", release: true, wait: time.Minute, want: true},
		{name: "none given back in time", wait: time.Millisecond, want: false},
		{name: "context ends", cancel: true, wait: time.Minute, want: false},
		{name: "no wait", wait: 0, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLimiter(1)
			if !l.acquire("sub") {
				t.Fatal("first slot refused")
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			got := make(chan bool)
			go func() { got <- l.acquireWithin(ctx, "sub", tt.wait) }()
			switch {
			case tt.release:
				l.release("sub", time.Millisecond)
			case tt.cancel:
				cancel()
			}
			if g := <-got; g != tt.want {
				t.Fatalf("acquireWithin = %v, want %v", g, tt.want)
			}
			if !l.acquire("other") {
				t.Fatal("another key's slot refused")
			}
		})
	}
}

func TestLimiterBoundsItsWaiters(t *testing.T) {
	l := newLimiter(4) // a quarter of 4 slots: one waiter
	for range 4 {
		if !l.acquire("sub") {
			t.Fatal("slot refused")
		}
	}
	first := make(chan bool)
	go func() { first <- l.acquireWithin(context.Background(), "sub", time.Minute) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l.mu.Lock()
		waiting := l.wait["sub"]
		l.mu.Unlock()
		if waiting == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first caller never waited")
		}
		time.Sleep(time.Millisecond) // polling the limiter
	}
	if l.acquireWithin(context.Background(), "sub", time.Minute) {
		t.Fatal("a second waiter got a slot")
	}
	l.release("sub", time.Millisecond)
	if !<-first {
		t.Fatal("the waiting caller did not get the slot given back")
	}
}
