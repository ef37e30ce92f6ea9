package consume

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/natstest"
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

// filledFixture starts a server with a fixture whose stream holds n
// messages, m000 onwards, for the Pool tests.
func filledFixture(t testing.TB, n int) *fixture {
	t.Helper()
	srv := natstest.Start(t, natstest.Options{})
	nc, js := natstest.Connect(t, srv)
	f := newFixture(t, nc, js, poolAckWait)
	for i := range n {
		f.publish(t, fmt.Sprintf("m%03d", i))
	}
	return f
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
