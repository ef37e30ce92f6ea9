package consume

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/natstest"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// settleAckWait is the AckWait of the consumers in the Settle tests. It is
// short so that "not redelivered" can be checked by waiting a little longer
// than one AckWait: a message nobody settled would be back by then.
const settleAckWait = time.Second

// poolAckWait is the AckWait of the consumers in the Pool tests; long enough
// that a message is not redelivered while a test holds its handler.
const poolAckWait = 2 * time.Second

// patience bounds every wait for something that should happen.
const patience = 10 * time.Second

// fixture is one stream with one durable pull consumer named "C".
type fixture struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	stream string
	cons   jetstream.Consumer
}

var streamSeq atomic.Int64

// newFixture creates a fresh stream and a durable pull consumer on it:
// explicit acks, the given AckWait, unlimited deliveries, every ack sampled.
func newFixture(t testing.TB, nc *nats.Conn, js jetstream.JetStream, ackWait time.Duration) *fixture {
	t.Helper()
	name := fmt.Sprintf("T%d", streamSeq.Add(1))
	ctx := testContext(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name:     name,
		Subjects: []string{name + ".>"},
		Storage:  jetstream.MemoryStorage,
	}); err != nil {
		t.Fatalf("create stream %s: %v", name, err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, name, jetstream.ConsumerConfig{
		Durable:         "C",
		AckPolicy:       jetstream.AckExplicitPolicy,
		AckWait:         ackWait,
		MaxDeliver:      -1,
		SampleFrequency: "100%",
	})
	if err != nil {
		t.Fatalf("create consumer on %s: %v", name, err)
	}
	return &fixture{nc: nc, js: js, stream: name, cons: cons}
}

func testContext(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	t.Cleanup(cancel)
	return ctx
}

// publish stores payload in the fixture's stream and returns its sequence.
func (f *fixture) publish(t testing.TB, payload string) uint64 {
	t.Helper()
	ack, err := f.js.Publish(testContext(t), f.stream+".msg", []byte(payload))
	if err != nil {
		t.Fatalf("publish %q: %v", payload, err)
	}
	return ack.Sequence
}

func (f *fixture) info(t testing.TB) *jetstream.ConsumerInfo {
	t.Helper()
	info, err := f.cons.Info(testContext(t))
	if err != nil {
		t.Fatalf("consumer info: %v", err)
	}
	return info
}

// fetchOne pulls the next message, failing the test when none comes within
// wait.
func (f *fixture) fetchOne(t testing.TB, wait time.Duration) jetstream.Msg {
	t.Helper()
	batch, err := f.cons.Fetch(1, jetstream.FetchMaxWait(wait))
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	for msg := range batch.Messages() {
		return msg
	}
	t.Fatalf("no message within %s (fetch error: %v)", wait, batch.Error())
	return nil
}

// expectNoDelivery fails the test when the consumer delivers anything within
// window.
func (f *fixture) expectNoDelivery(t testing.TB, window time.Duration) {
	t.Helper()
	batch, err := f.cons.Fetch(1, jetstream.FetchMaxWait(window))
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	for msg := range batch.Messages() {
		md := metadata(t, msg)
		t.Fatalf("unexpected delivery of stream seq %d (delivery %d)", md.Sequence.Stream, md.NumDelivered)
	}
}

// awaitSettled waits until every message up to seq is acknowledged (acked
// or terminated) and none is pending.
func (f *fixture) awaitSettled(t testing.TB, seq uint64) {
	t.Helper()
	var last *jetstream.ConsumerInfo
	natstest.Eventually(t, patience, fmt.Sprintf("consumer %s settles up to %d", f.stream, seq), func() bool {
		last = f.info(t)
		return last.NumAckPending == 0 && last.AckFloor.Stream == seq
	})
}

func metadata(t testing.TB, msg jetstream.Msg) *jetstream.MsgMetadata {
	t.Helper()
	md, err := msg.Metadata()
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	return md
}

// subscribe listens on subject and makes sure the server knows before it
// returns, so no event published afterwards is missed.
func subscribe(t testing.TB, nc *nats.Conn, subject string) *nats.Subscription {
	t.Helper()
	sub, err := nc.SubscribeSync(subject)
	if err != nil {
		t.Fatalf("subscribe %s: %v", subject, err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		t.Fatalf("flush: %v", err)
	}
	return sub
}

// nextEvent decodes the next JSON event on sub into v.
func nextEvent(t testing.TB, sub *nats.Subscription, v any) {
	t.Helper()
	msg, err := sub.NextMsg(patience)
	if err != nil {
		t.Fatalf("no event on %s: %v", sub.Subject, err)
	}
	if err := json.Unmarshal(msg.Data, v); err != nil {
		t.Fatalf("decode event %s: %v", msg.Data, err)
	}
}

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

func TestExponentialBackoff(t *testing.T) {
	tests := []struct {
		name      string
		base, max time.Duration
		n         uint64
		want      time.Duration
	}{
		{"n 0 is base", time.Second, time.Minute, 0, time.Second},
		{"first delivery is base", time.Second, time.Minute, 1, time.Second},
		{"second doubles", time.Second, time.Minute, 2, 2 * time.Second},
		{"third doubles again", time.Second, time.Minute, 3, 4 * time.Second},
		{"sixth", time.Second, time.Minute, 6, 32 * time.Second},
		{"seventh is capped", time.Second, time.Minute, 7, time.Minute},
		{"far beyond stays capped", time.Second, time.Minute, 1_000_000, time.Minute},
		{"cap reached exactly", 100 * time.Millisecond, 800 * time.Millisecond, 4, 800 * time.Millisecond},
		{"just below cap", 100 * time.Millisecond, time.Second, 4, 800 * time.Millisecond},
		{"just above cap", 100 * time.Millisecond, time.Second, 5, time.Second},
		{"base above cap is capped", 10 * time.Second, 5 * time.Second, 1, 5 * time.Second},
		{"base equal to cap", time.Second, time.Second, 9, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExponentialBackoff(tt.base, tt.max)(tt.n); got != tt.want {
				t.Errorf("ExponentialBackoff(%s, %s)(%d) = %s, want %s", tt.base, tt.max, tt.n, got, tt.want)
			}
		})
	}
}

// logRecorder is a slog.Handler that keeps every record.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Clone())
	return nil
}

// has reports whether a record at level with message msg has an "err"
// attribute containing errPart.
func (l *logRecorder) has(level slog.Level, msg, errPart string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.recs {
		if r.Level != level || r.Message != msg {
			continue
		}
		found := false
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "err" && strings.Contains(a.Value.String(), errPart) {
				found = true
				return false
			}
			return true
		})
		if found {
			return true
		}
	}
	return false
}

// startPool starts a pool and stops it when the test ends, if the test did
// not.
func startPool(t testing.TB, cons jetstream.Consumer, h Handler, opts Options) *Pool {
	t.Helper()
	p, err := Start(cons, h, opts)
	if err != nil {
		t.Fatalf("start pool: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		_ = awaitStop(t, goStop(ctx, p))
	})
	return p
}

// goStop calls p.Stop(ctx) on its own goroutine.
func goStop(ctx context.Context, p *Pool) <-chan error {
	res := make(chan error, 1)
	go func() { res <- p.Stop(ctx) }()
	return res
}

// awaitStop returns what Stop returned, failing the test if it does not
// return within patience (an abandoned Stop is left running).
func awaitStop(t testing.TB, res <-chan error) error {
	t.Helper()
	select {
	case err := <-res:
		return err
	case <-time.After(patience):
		t.Errorf("Stop did not return within %s", patience)
		return nil
	}
}

// stopWithin stops p, failing the test if Stop does not return within
// patience.
func stopWithin(t testing.TB, ctx context.Context, p *Pool) error {
	t.Helper()
	return awaitStop(t, goStop(ctx, p))
}

// requireRunning fails the test if Stop has already returned.
func requireRunning(t testing.TB, res <-chan error) {
	t.Helper()
	select {
	case err := <-res:
		t.Fatalf("Stop returned (%v) while handlers were still running", err)
	default:
	}
}

// raiseTo sets m to v if v is larger.
func raiseTo(m *atomic.Int64, v int64) {
	for old := m.Load(); v > old; old = m.Load() {
		if m.CompareAndSwap(old, v) {
			return
		}
	}
}

func constantBackoff(d time.Duration) Backoff { return func(uint64) time.Duration { return d } }

func TestPoolHandlesEveryMessageOnceWithinWorkers(t *testing.T) {
	const messages, workers = 200, 8
	srv := natstest.Start(t, natstest.Options{})
	nc, js := natstest.Connect(t, srv)
	f := newFixture(t, nc, js, poolAckWait)
	for i := range messages {
		f.publish(t, fmt.Sprintf("m%03d", i))
	}

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

// subscriptions returns how many subscriptions the server holds for nc.
func subscriptions(t testing.TB, srv *server.Server, nc *nats.Conn) int {
	t.Helper()
	cid, err := nc.GetClientID()
	if err != nil {
		t.Fatalf("client id: %v", err)
	}
	cz, err := srv.Connz(&server.ConnzOptions{CID: cid, Subscriptions: true})
	if err != nil || len(cz.Conns) != 1 {
		t.Fatalf("connz for client %d: %v (%d conns)", cid, err, len(cz.Conns))
	}
	return int(cz.Conns[0].NumSubs)
}

func TestPoolStopDrainsMessagesInHand(t *testing.T) {
	// More messages than workers, fewer than one pull: when Stop is called
	// some are in handlers, one waits for a worker and the rest sit in the
	// client's buffer. All of them are "in hand".
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
	subsBefore := subscriptions(t, srv, poolNC)

	var started, finished atomic.Int64
	release := make(chan struct{})     // lets every handler but the last finish
	releaseLast := make(chan struct{}) // lets the last one finish
	lastPayload := fmt.Sprintf("m%d", messages-1)
	handler := func(ctx context.Context, msg jetstream.Msg) error {
		started.Add(1)
		gate := release
		if string(msg.Data()) == lastPayload {
			gate = releaseLast
		}
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
		finished.Add(1)
		return nil
	}
	p := startPool(t, cons, handler, Options{Workers: workers, Backoff: constantBackoff(10 * time.Millisecond)})
	natstest.Eventually(t, patience, "every worker busy", func() bool { return started.Load() == workers })
	natstest.Eventually(t, patience, "every message pulled", func() bool { return f.info(t).NumAckPending == messages })
	subsRunning := subscriptions(t, srv, poolNC)
	if subsRunning != subsBefore+1 {
		t.Fatalf("the pool holds %d subscriptions, want 1", subsRunning-subsBefore)
	}

	stopped := goStop(testContext(t), p)
	// The pool's subscription leaves the server as soon as Stop drains it:
	// from then on nothing new reaches the pool.
	natstest.Eventually(t, patience, "Stop drains the subscription", func() bool {
		return subscriptions(t, srv, poolNC) == subsBefore
	})
	requireRunning(t, stopped)

	close(release)
	// Closed is closed once the buffer is drained, i.e. every message has
	// been handed to a worker; the last one's handler is still running.
	select {
	case <-p.cc.Closed():
	case <-time.After(patience):
		t.Fatal("the subscription was not drained")
	}
	late := f.publish(t, "late") // must not reach the stopping pool
	requireRunning(t, stopped)
	close(releaseLast)
	if err := awaitStop(t, stopped); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if got := finished.Load(); got != messages {
		t.Fatalf("Stop returned with %d of %d messages handled", got, messages)
	}
	poolNC.Close()

	natstest.Eventually(t, patience, "the drained messages acked", func() bool {
		return f.info(t).AckFloor.Stream == messages
	})
	if got := started.Load(); got != messages {
		t.Errorf("%d handlers started, want %d", got, messages)
	}
	if info := f.info(t); info.AckFloor.Stream >= late {
		t.Errorf("message published after Stop was acked (ack floor %d)", info.AckFloor.Stream)
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
	case <-p.cc.Closed():
	default:
		t.Error("the pool still consumes after Stop")
	}
	if calls.Load() != 0 {
		t.Errorf("handler called %d times", calls.Load())
	}
}

func TestStartDefaults(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	nc, js := natstest.Connect(t, srv)
	f := newFixture(t, nc, js, poolAckWait)
	p := startPool(t, f.cons, func(context.Context, jetstream.Msg) error { return nil }, Options{})

	if p.opts.Workers != 1 || cap(p.sem) != 1 {
		t.Errorf("Workers %d (semaphore %d), want 1", p.opts.Workers, cap(p.sem))
	}
	if p.opts.Logger == nil {
		t.Error("no default logger")
	}
	if p.opts.Backoff == nil {
		t.Fatal("no default backoff")
	}
	for n, want := range map[uint64]time.Duration{1: time.Second, 2: 2 * time.Second, 7: time.Minute, 50: time.Minute} {
		if got := p.opts.Backoff(n); got != want {
			t.Errorf("default backoff(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		workers int
		wantErr bool
	}{
		{-1, true},
		{-100, true},
		{0, false},
		{1, false},
		{64, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("Workers=", tt.workers), func(t *testing.T) {
			if err := (Options{Workers: tt.workers}).Validate(); (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, want error %v", err, tt.wantErr)
			}
		})
	}

	t.Run("Start refuses invalid options", func(t *testing.T) {
		srv := natstest.Start(t, natstest.Options{})
		nc, js := natstest.Connect(t, srv)
		f := newFixture(t, nc, js, poolAckWait)
		p, err := Start(f.cons, func(context.Context, jetstream.Msg) error { return nil }, Options{Workers: -3})
		if err == nil {
			_ = p.Stop(testContext(t))
			t.Fatal("Start accepted negative Workers")
		}
		if p != nil || !strings.Contains(err.Error(), "workers") {
			t.Fatalf("Start = %v, %v; want nil and an error about workers", p, err)
		}
	})
}

func TestStartFailsWhenConsumeIsRefused(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	_, js := natstest.Connect(t, srv)
	ctx := testContext(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "PRIO", Subjects: []string{"prio.>"}, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	// A consumer with priority groups cannot be consumed without naming a
	// group, which Start does not do.
	cons, err := js.CreateOrUpdateConsumer(ctx, "PRIO", jetstream.ConsumerConfig{
		Durable:        "C",
		AckPolicy:      jetstream.AckExplicitPolicy,
		PriorityGroups: []string{"g"},
		PriorityPolicy: jetstream.PriorityPolicyOverflow,
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Start(cons, func(context.Context, jetstream.Msg) error { return nil }, Options{})
	if err == nil {
		_ = p.Stop(ctx)
		t.Fatal("Start succeeded")
	}
	if p != nil || !errors.Is(err, jetstream.ErrInvalidOption) {
		t.Fatalf("Start = %v, %v; want nil and an invalid-option error", p, err)
	}
}
