package consume

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/nats-io/nats-server/v2/server"
)

// backoffRecorder is a Backoff that returns delay and records the delivery
// counts it was asked about.
type backoffRecorder struct {
	mu    sync.Mutex
	delay time.Duration
	calls []uint64
}

func (b *backoffRecorder) backoff(n uint64) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, n)
	return b.delay
}

func (b *backoffRecorder) seen() []uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.calls)
}

func TestSettle(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	nc, js := natstest.Connect(t, srv)
	// Long enough for the consumer to have redelivered anything it still
	// owed, either immediately (a plain Nak) or after AckWait.
	noRedeliveryWindow := settleAckWait + 500*time.Millisecond

	t.Run("nil acks", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nc, js, settleAckWait)
		acks := subscribe(t, nc, "$JS.EVENT.METRIC.CONSUMER.ACK."+f.stream+".C")
		seq := f.publish(t, "ok")
		msg := f.fetchOne(t, patience)
		b := &backoffRecorder{delay: time.Millisecond}

		outcome, err := Settle(msg, nil, b.backoff)
		if outcome != Acked || err != nil {
			t.Fatalf("Settle(nil) = %v, %v; want Acked, nil", outcome, err)
		}
		var ack server.JSConsumerAckMetric // sent for acks only, not for Term
		nextEvent(t, acks, &ack)
		if ack.StreamSeq != seq || ack.Deliveries != 1 {
			t.Fatalf("ack metric for seq %d delivery %d, want seq %d delivery 1", ack.StreamSeq, ack.Deliveries, seq)
		}
		f.awaitSettled(t, seq)
		f.expectNoDelivery(t, noRedeliveryWindow)
		if info := f.info(t); info.Delivered.Consumer != 1 || info.NumAckPending != 0 {
			t.Fatalf("delivered %d times, %d pending; want once, 0", info.Delivered.Consumer, info.NumAckPending)
		}
		if calls := b.seen(); len(calls) != 0 {
			t.Fatalf("backoff consulted on success: %v", calls)
		}
	})

	t.Run("Permanent terminates", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nc, js, settleAckWait)
		terms := subscribe(t, nc, "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED."+f.stream+".C")
		seq := f.publish(t, "bad")
		msg := f.fetchOne(t, patience)
		b := &backoffRecorder{delay: time.Millisecond}

		handlerErr := fmt.Errorf("handle invoice: %w", Permanent(errors.New("customer unknown")))
		outcome, err := Settle(msg, handlerErr, b.backoff)
		if outcome != Terminated || err != nil {
			t.Fatalf("Settle(Permanent) = %v, %v; want Terminated, nil", outcome, err)
		}
		var adv server.JSConsumerDeliveryTerminatedAdvisory
		nextEvent(t, terms, &adv)
		if adv.StreamSeq != seq || !strings.Contains(adv.Reason, "customer unknown") {
			t.Fatalf("terminated advisory for seq %d reason %q; want seq %d with the error as reason", adv.StreamSeq, adv.Reason, seq)
		}
		f.awaitSettled(t, seq)
		f.expectNoDelivery(t, noRedeliveryWindow)
		if info := f.info(t); info.Delivered.Consumer != 1 {
			t.Fatalf("delivered %d times, want once", info.Delivered.Consumer)
		}
		if calls := b.seen(); len(calls) != 0 {
			t.Fatalf("backoff consulted for a permanent error: %v", calls)
		}
	})

	t.Run("Permanent wins over RetryAfter", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nc, js, settleAckWait)
		seq := f.publish(t, "bad")
		msg := f.fetchOne(t, patience)
		b := &backoffRecorder{delay: time.Millisecond}

		outcome, err := Settle(msg, RetryAfter(Permanent(errors.New("bad")), time.Millisecond), b.backoff)
		if outcome != Terminated || err != nil {
			t.Fatalf("Settle = %v, %v; want Terminated, nil", outcome, err)
		}
		f.awaitSettled(t, seq)
	})

	t.Run("transient error naks with the backoff delay", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nc, js, settleAckWait)
		seq := f.publish(t, "flaky")
		b := &backoffRecorder{delay: 50 * time.Millisecond}

		for want := uint64(1); want <= 2; want++ {
			msg := f.fetchOne(t, patience)
			md := metadata(t, msg)
			if md.Sequence.Stream != seq || md.NumDelivered != want {
				t.Fatalf("got seq %d delivery %d, want seq %d delivery %d", md.Sequence.Stream, md.NumDelivered, seq, want)
			}
			outcome, err := Settle(msg, errors.New("database unavailable"), b.backoff)
			if outcome != Retried || err != nil {
				t.Fatalf("Settle(transient) = %v, %v; want Retried, nil", outcome, err)
			}
		}
		if calls := b.seen(); !slices.Equal(calls, []uint64{1, 2}) {
			t.Fatalf("backoff asked about deliveries %v, want [1 2]", calls)
		}
		msg := f.fetchOne(t, patience)
		if md := metadata(t, msg); md.NumDelivered != 3 {
			t.Fatalf("third delivery has NumDelivered %d", md.NumDelivered)
		}
		if outcome, err := Settle(msg, nil, b.backoff); outcome != Acked || err != nil {
			t.Fatalf("Settle(nil) = %v, %v", outcome, err)
		}
		f.awaitSettled(t, seq)
	})

	t.Run("backoff delay is honoured", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nc, js, settleAckWait)
		f.publish(t, "flaky")
		msg := f.fetchOne(t, patience)
		b := &backoffRecorder{delay: time.Hour}

		if outcome, err := Settle(msg, errors.New("transient"), b.backoff); outcome != Retried || err != nil {
			t.Fatalf("Settle(transient) = %v, %v; want Retried, nil", outcome, err)
		}
		// Neither an immediate Nak nor the AckWait would hold it back this long.
		f.expectNoDelivery(t, noRedeliveryWindow)
		if info := f.info(t); info.NumAckPending != 1 {
			t.Fatalf("NumAckPending %d, want the message still owed (1)", info.NumAckPending)
		}
	})

	t.Run("RetryAfter overrides the backoff", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nc, js, settleAckWait)
		seq := f.publish(t, "limited")
		msg := f.fetchOne(t, patience)
		b := &backoffRecorder{delay: time.Hour}

		handlerErr := fmt.Errorf("call tax service: %w", RetryAfter(errors.New("429"), 50*time.Millisecond))
		if outcome, err := Settle(msg, handlerErr, b.backoff); outcome != Retried || err != nil {
			t.Fatalf("Settle(RetryAfter) = %v, %v; want Retried, nil", outcome, err)
		}
		again := f.fetchOne(t, patience) // would take an hour with the backoff's delay
		if md := metadata(t, again); md.Sequence.Stream != seq || md.NumDelivered != 2 {
			t.Fatalf("got seq %d delivery %d, want seq %d delivery 2", md.Sequence.Stream, md.NumDelivered, seq)
		}
		if calls := b.seen(); len(calls) != 0 {
			t.Fatalf("backoff consulted despite RetryAfter: %v", calls)
		}
		if err := again.Ack(); err != nil {
			t.Fatal(err)
		}
		f.awaitSettled(t, seq)
	})

	t.Run("RetryAfter delay is honoured", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nc, js, settleAckWait)
		f.publish(t, "limited")
		msg := f.fetchOne(t, patience)
		b := &backoffRecorder{delay: time.Millisecond}

		if outcome, err := Settle(msg, RetryAfter(errors.New("429"), time.Hour), b.backoff); outcome != Retried || err != nil {
			t.Fatalf("Settle(RetryAfter) = %v, %v; want Retried, nil", outcome, err)
		}
		f.expectNoDelivery(t, noRedeliveryWindow)
		if info := f.info(t); info.NumAckPending != 1 {
			t.Fatalf("NumAckPending %d, want the message still owed (1)", info.NumAckPending)
		}
	})
}

func TestErrorMarkers(t *testing.T) {
	base := errors.New("root cause")

	if Permanent(nil) != nil {
		t.Error("Permanent(nil) is not nil")
	}
	if RetryAfter(nil, time.Second) != nil {
		t.Error("RetryAfter(nil, d) is not nil")
	}

	tests := []struct {
		name      string
		err       error
		permanent bool
		delay     time.Duration // 0: not a RetryAfter error
	}{
		{name: "nil", err: nil},
		{name: "plain", err: base},
		{name: "wrapped plain", err: fmt.Errorf("ctx: %w", base)},
		{name: "permanent", err: Permanent(base), permanent: true},
		{name: "wrapped permanent", err: fmt.Errorf("handle: %w", Permanent(base)), permanent: true},
		{name: "doubly wrapped permanent", err: fmt.Errorf("a: %w", fmt.Errorf("b: %w", Permanent(base))), permanent: true},
		{name: "joined permanent", err: errors.Join(errors.New("other"), Permanent(base)), permanent: true},
		{name: "retry after", err: RetryAfter(base, 3*time.Second), delay: 3 * time.Second},
		{name: "wrapped retry after", err: fmt.Errorf("x: %w", RetryAfter(base, time.Minute)), delay: time.Minute},
		{name: "permanent inside retry after", err: RetryAfter(Permanent(base), time.Second), permanent: true, delay: time.Second},
		{name: "retry after inside permanent", err: Permanent(RetryAfter(base, time.Second)), permanent: true, delay: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsPermanent(tt.err); got != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v", got, tt.permanent)
			}
			if tt.err != nil && !errors.Is(tt.err, base) {
				t.Errorf("errors.Is(err, base) = false: the cause is hidden")
			}
			var ra retryAfterError
			if got := errors.As(tt.err, &ra); got != (tt.delay != 0) {
				t.Fatalf("errors.As(retryAfterError) = %v, want %v", got, tt.delay != 0)
			}
			if tt.delay != 0 && ra.delay != tt.delay {
				t.Errorf("delay %s, want %s", ra.delay, tt.delay)
			}
		})
	}

	t.Run("messages are the cause's", func(t *testing.T) {
		if got := Permanent(base).Error(); got != "root cause" {
			t.Errorf("Permanent(err).Error() = %q", got)
		}
		if got := RetryAfter(base, time.Second).Error(); got != "root cause" {
			t.Errorf("RetryAfter(err, d).Error() = %q", got)
		}
	})

	t.Run("As reaches a typed cause", func(t *testing.T) {
		type codeError struct{ error }
		err := fmt.Errorf("wrap: %w", Permanent(codeError{base}))
		var ce codeError
		if !errors.As(err, &ce) || ce.error != base {
			t.Fatalf("errors.As through Permanent failed: %v", err)
		}
	})
}
