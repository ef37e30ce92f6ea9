package api

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestIndexWaitFor(t *testing.T) {
	f := newIndexFixture(t)
	f.requestMany("cus_a", 2)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // a guard only
	defer cancel()

	// Already reached: returns at once, even with an ended context.
	done, stop := context.WithCancel(ctx)
	stop()
	for _, seq := range []uint64{0, 1, 2} {
		if err := f.x.WaitFor(done, seq); err != nil {
			t.Errorf("WaitFor(%d) with applied 2 = %v, want nil", seq, err)
		}
	}

	// Not yet reached: returns once an Apply in another goroutine gets there.
	type msg struct {
		subject string
		seq     uint64
		data    []byte
	}
	var msgs []msg
	for seq := uint64(3); seq <= 5; seq++ {
		subject, data := encodeEvent(t, f.newRequested("cus_b"))
		msgs = append(msgs, msg{subject, seq, data})
	}
	const target = 6
	msgs = append(msgs, msg{"$KV.x", target, nil}) // a non-invoice message also counts
	ready := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		<-ready
		for _, m := range msgs {
			if err := f.x.Apply(m.subject, m.seq, m.data); err != nil {
				t.Errorf("Apply(%s, %d) = %v", m.subject, m.seq, err)
			}
		}
	})
	waiters := make([]chan error, 3)
	for i := range waiters {
		waiters[i] = make(chan error, 1)
		go func(ch chan<- error) { ch <- f.x.WaitFor(ctx, target) }(waiters[i])
	}
	for i, ch := range waiters {
		select {
		case err := <-ch:
			t.Fatalf("waiter %d returned %v before sequence %d was applied", i, err, target)
		default:
		}
	}
	close(ready)
	for i, ch := range waiters {
		if err := <-ch; err != nil {
			t.Errorf("waiter %d: WaitFor = %v, want nil", i, err)
		}
	}
	wg.Wait()
	if got := entriesLen(f.x); got != 5 {
		t.Errorf("Len = %d, want 5", got)
	}
	if err := f.x.WaitFor(done, target+1); !errors.Is(err, ErrUnavailable) {
		t.Errorf("WaitFor(%d) = %v, want ErrUnavailable", target+1, err)
	}
}

func TestIndexWaitForCancelled(t *testing.T) {
	tests := []struct {
		name string
		ctx  func(testing.TB) context.Context
	}{
		{"cancelled before", func(t testing.TB) context.Context {
			t.Helper()
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}},
		{"cancelled while waiting", func(t testing.TB) context.Context {
			t.Helper()
			ctx, cancel := context.WithCancel(context.Background())
			go cancel()
			return ctx
		}},
		{"deadline", func(t testing.TB) context.Context {
			t.Helper()
			ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newIndexFixture(t)
			f.request("cus_a")
			err := f.x.WaitFor(tt.ctx(t), 5)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("WaitFor = %v, want an error matching ErrUnavailable", err)
			}
			if p := problemFor(err); p.Status != 503 {
				t.Errorf("problem status = %d, want 503", p.Status)
			}
		})
	}
}
