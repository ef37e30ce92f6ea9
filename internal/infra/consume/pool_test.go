package consume

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/nats-io/nats.go/jetstream"
)

func TestPoolHandlesEveryMessageOnceWithinWorkers(t *testing.T) {
	const messages, workers = 200, 8
	f := filledFixture(t, messages)

	var (
		mu          sync.Mutex
		seen        = map[string]int{}
		inflight    atomic.Int64
		maxInflight atomic.Int64
		full        = make(chan struct{})
		fullOnce    sync.Once
	)
	handler := func(ctx context.Context, msg jetstream.Msg) error {
		cur := inflight.Add(1)
		defer inflight.Add(-1)
		raiseTo(&maxInflight, cur)
		// Hold the first handlers until all workers are busy at once, so
		// the pool is saturated while plenty of messages are waiting; one
		// handler too many would push maxInflight past workers.
		if cur == workers {
			fullOnce.Do(func() { close(full) })
		}
		select {
		case <-full:
		case <-ctx.Done():
			return ctx.Err()
		}
		mu.Lock()
		seen[string(msg.Data())]++
		mu.Unlock()
		return nil
	}
	p := startPool(t, f.cons, handler, Options{Workers: workers, Backoff: constantBackoff(10 * time.Millisecond)})
	t.Cleanup(func() {
		if t.Failed() {
			mu.Lock()
			defer mu.Unlock()
			t.Logf("handled %d distinct messages; in flight %d, at most %d", len(seen), inflight.Load(), maxInflight.Load())
		}
	})

	natstest.Eventually(t, patience, "every message handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == messages
	})
	f.awaitSettled(t, messages)
	ctx := testContext(t)
	if err := stopWithin(t, ctx, p); err != nil {
		t.Fatalf("Stop: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	for i := range messages {
		if n := seen[fmt.Sprintf("m%03d", i)]; n != 1 {
			t.Errorf("message m%03d handled %d times", i, n)
		}
	}
	info := f.info(t)
	if info.Delivered.Consumer != messages || info.NumAckPending != 0 || info.NumPending != 0 {
		t.Errorf("consumer delivered %d, pending ack %d, pending %d; want %d, 0, 0",
			info.Delivered.Consumer, info.NumAckPending, info.NumPending, messages)
	}
	if got := maxInflight.Load(); got != workers {
		t.Errorf("at most %d handlers ran at once, want exactly Workers (%d)", got, workers)
	}
}

func TestPoolRedeliversAfterPanic(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	nc, js := natstest.Connect(t, srv)
	f := newFixture(t, nc, js, poolAckWait)
	logs := &logRecorder{}

	var (
		mu       sync.Mutex
		done     = map[string]uint64{} // payload -> delivery that succeeded
		panicked atomic.Bool
	)
	handler := func(_ context.Context, msg jetstream.Msg) error {
		md, err := msg.Metadata()
		if err != nil {
			return err
		}
		if string(msg.Data()) == "boom" && md.NumDelivered == 1 {
			panicked.Store(true)
			panic("kaboom")
		}
		mu.Lock()
		done[string(msg.Data())] = md.NumDelivered
		mu.Unlock()
		return nil
	}
	f.publish(t, "boom")
	p := startPool(t, f.cons, handler, Options{
		Workers: 4,
		Backoff: constantBackoff(10 * time.Millisecond),
		Logger:  slog.New(logs),
	})
	natstest.Eventually(t, patience, "handler panicked", panicked.Load)

	// The pool survives the panic and keeps handling new messages.
	var last uint64
	for i := range 5 {
		last = f.publish(t, fmt.Sprintf("after-%d", i))
	}
	natstest.Eventually(t, patience, "every message handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(done) == 6
	})
	f.awaitSettled(t, last)
	if err := stopWithin(t, testContext(t), p); err != nil {
		t.Fatalf("Stop: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	if done["boom"] != 2 {
		t.Errorf("panicking message succeeded on delivery %d, want 2", done["boom"])
	}
	for i := range 5 {
		if n := done[fmt.Sprintf("after-%d", i)]; n != 1 {
			t.Errorf("after-%d succeeded on delivery %d, want 1", i, n)
		}
	}
	if !logs.has(slog.LevelWarn, "message will be retried", "handler panic: kaboom") {
		t.Error("the panic was not logged as a retry")
	}
}
