package consume

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/nats-io/nats.go/jetstream"
)

func TestPoolStopFinishesMessagesInHandAndPullsNoMore(t *testing.T) {
	// More messages than workers: the pool holds only as many as it has
	// workers, and Stop lets exactly those finish.
	const workers, messages = 3, 8
	srv := natstest.Start(t, natstest.Options{})
	nc, js := natstest.Connect(t, srv)
	f := newFixture(t, nc, js, poolAckWait)
	for i := range messages {
		f.publish(t, fmt.Sprintf("m%d", i))
	}
	// The pool gets its own connection, closed as soon as Stop returns: an
	// ack sent any later could not reach the server.
	poolNC, poolJS := natstest.Connect(t, srv)
	cons, err := poolJS.Consumer(testContext(t), f.stream, "C")
	if err != nil {
		t.Fatal(err)
	}
	var started, finished atomic.Int64
	release := make(chan struct{})
	handler := func(ctx context.Context, msg jetstream.Msg) error {
		started.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
		finished.Add(1)
		return nil
	}
	p := startPool(t, cons, handler, Options{Workers: workers, Backoff: constantBackoff(10 * time.Millisecond)})
	natstest.Eventually(t, patience, "every worker busy", func() bool { return started.Load() == workers })
	if info := f.info(t); info.NumAckPending != workers || info.NumPending != messages-workers {
		t.Fatalf("the pool holds %d messages (%d left), want only its %d workers' worth", info.NumAckPending, info.NumPending, workers)
	}

	stopped := goStop(testContext(t), p)
	select {
	case <-p.pulled:
	case <-time.After(patience):
		t.Fatal("Stop did not end the pulling")
	}
	late := f.publish(t, "late") // must not reach the stopping pool
	requireRunning(t, stopped)
	close(release)
	if err := awaitStop(t, stopped); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	poolNC.Close()
	if got := finished.Load(); got != workers || started.Load() != workers {
		t.Fatalf("%d started, %d finished; want %d each", started.Load(), got, workers)
	}
	natstest.Eventually(t, patience, "the messages in hand acked", func() bool {
		return f.info(t).AckFloor.Stream == workers
	})
	if info := f.info(t); info.AckFloor.Stream >= late || info.NumPending != messages-workers+1 {
		t.Errorf("after Stop: ack floor %d, %d pending", info.AckFloor.Stream, info.NumPending)
	}
}

func TestPoolStopWithExpiredContext(t *testing.T) {
	const workers = 2
	srv := natstest.Start(t, natstest.Options{})
	nc, js := natstest.Connect(t, srv)
	f := newFixture(t, nc, js, poolAckWait)
	seqs := []uint64{f.publish(t, "a"), f.publish(t, "b")}

	var started, canceled, returned atomic.Int64
	never := make(chan struct{})   // the handlers' work never completes
	cleanUp := make(chan struct{}) // holds them after cancellation
	var cleanUpOnce sync.Once
	letGo := func() { cleanUpOnce.Do(func() { close(cleanUp) }) }
	t.Cleanup(func() { close(never); letGo() })
	handler := func(ctx context.Context, _ jetstream.Msg) error {
		defer returned.Add(1)
		started.Add(1)
		select {
		case <-ctx.Done():
			canceled.Add(1)
			<-cleanUp
			return ctx.Err()
		case <-never:
			return nil
		}
	}
	p := startPool(t, f.cons, handler, Options{Workers: workers, Backoff: constantBackoff(10 * time.Millisecond)})
	natstest.Eventually(t, patience, "every worker busy", func() bool { return started.Load() == workers })

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	stopped := goStop(ctx, p)
	natstest.Eventually(t, patience, "handlers' context canceled", func() bool { return canceled.Load() == workers })
	// Stop still waits for the canceled handlers to return, so their
	// messages are settled before the caller closes the connection.
	requireRunning(t, stopped)
	letGo()
	if err := awaitStop(t, stopped); !errors.Is(err, context.Canceled) {
		t.Fatalf("Stop(expired ctx) = %v, want context.Canceled", err)
	}
	if got := returned.Load(); got != workers {
		t.Fatalf("Stop returned with %d of %d handlers returned", got, workers)
	}

	// The interrupted messages were not lost: they come back.
	redelivered := map[uint64]bool{}
	natstest.Eventually(t, patience, "interrupted messages redelivered", func() bool {
		batch, err := f.cons.Fetch(workers, jetstream.FetchMaxWait(250*time.Millisecond))
		if err != nil {
			t.Fatalf("fetch: %v", err)
		}
		for msg := range batch.Messages() {
			if md := metadata(t, msg); md.NumDelivered >= 2 {
				redelivered[md.Sequence.Stream] = true
			}
			if err := msg.Ack(); err != nil {
				t.Fatal(err)
			}
		}
		return len(redelivered) == len(seqs)
	})
	for _, s := range seqs {
		if !redelivered[s] {
			t.Errorf("seq %d not redelivered", s)
		}
	}
}

func TestPoolStopIdle(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	nc, js := natstest.Connect(t, srv)
	f := newFixture(t, nc, js, poolAckWait)
	var calls atomic.Int64
	p := startPool(t, f.cons, func(context.Context, jetstream.Msg) error {
		calls.Add(1)
		return nil
	}, Options{})

	if err := stopWithin(t, testContext(t), p); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := stopWithin(t, testContext(t), p); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if err := p.ctx.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("handlers' context after Stop: %v, want canceled", err)
	}
	select {
	case <-p.pulled:
	default:
		t.Error("the pool still consumes after Stop")
	}
	if calls.Load() != 0 {
		t.Errorf("handler called %d times", calls.Load())
	}
}

// TestPoolStopLeavesNoMessageUnsettled stops a pool while its pulls are
// busy bringing messages: every message the server handed over is handled
// and acked, none is dropped to wait out its ack wait.
func TestPoolStopLeavesNoMessageUnsettled(t *testing.T) {
	const messages = 3000
	srv := natstest.Start(t, natstest.Options{})
	nc, js := natstest.Connect(t, srv)
	f := newFixture(t, nc, js, time.Hour) // a dropped message would stay ack-pending
	for i := range messages {
		f.publish(t, fmt.Sprint(i))
	}
	poolNC, poolJS := natstest.Connect(t, srv)
	cons, err := poolJS.Consumer(testContext(t), f.stream, "C")
	if err != nil {
		t.Fatal(err)
	}
	var handled atomic.Int64
	handler := func(context.Context, jetstream.Msg) error { handled.Add(1); return nil }
	p := startPool(t, cons, handler, Options{Workers: 64})
	natstest.Eventually(t, patience, "the pool busy", func() bool { return handled.Load() >= 300 })
	if err := awaitStop(t, goStop(testContext(t), p)); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := poolNC.Flush(); err != nil {
		t.Fatal(err)
	}
	// Every message is handled or still waiting: one dropped on its way
	// would be neither, and would wait out its hour of ack wait.
	if info := f.info(t); handled.Load()+int64(info.NumPending) != messages {
		t.Fatalf("after Stop: %d handled, %d pending, %d delivered but never handled",
			handled.Load(), info.NumPending, messages-handled.Load()-int64(info.NumPending))
	}
	natstest.Eventually(t, patience, "every handled message acked", func() bool {
		return f.info(t).NumAckPending == 0
	})
}
