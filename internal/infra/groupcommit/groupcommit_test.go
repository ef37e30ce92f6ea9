package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/invoiced/invoiced/internal/infra/jserr"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// setup starts a server that syncs every write and a stream S on s.>
// allowing atomic batches (or not), and returns a connection to it.
func setup(t testing.TB, atomic bool) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	srv := natstest.Start(t, natstest.Options{SyncAlways: true})
	nc, js := natstest.Connect(t, srv)
	_, err := js.CreateStream(context.Background(), jetstream.StreamConfig{
		Name: "S", Subjects: []string{"s.>"}, Storage: jetstream.FileStorage, AllowAtomicPublish: atomic,
	})
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

func newWriter(t testing.TB, nc *nats.Conn, js jetstream.JetStream, cfg Config) *Writer {
	t.Helper()
	w, err := New(nc, js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

// msg returns a message on s.<n> with message ID id-<n>, expecting its
// subject to be empty.
func msg(n int) *nats.Msg {
	m := nats.NewMsg("s." + strconv.Itoa(n))
	m.Data = []byte("x")
	m.Header.Set(jetstream.MsgIDHeader, "id-"+strconv.Itoa(n))
	m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, "0")
	return m
}

// batchOf returns n messages, the i-th as msg(at(i)).
func batchOf(n int, at func(int) int) []*nats.Msg {
	msgs := make([]*nats.Msg, n)
	for i := range msgs {
		msgs[i] = msg(at(i))
	}
	return msgs
}

// publishAll publishes msgs from one goroutine each and returns each one's
// answer.
func publishAll(w *Writer, msgs []*nats.Msg) ([]*jetstream.PubAck, []error) {
	acks, errs := make([]*jetstream.PubAck, len(msgs)), make([]error, len(msgs))
	var wg sync.WaitGroup
	for i, m := range msgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			acks[i], errs[i] = w.PublishMsg(ctx, m)
		}()
	}
	wg.Wait()
	return acks, errs
}

// stored returns the data of every message of S by subject.
func stored(t *testing.T, js jetstream.JetStream) map[string]uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), "S")
	if err != nil {
		t.Fatal(err)
	}
	counts, _ := natstest.SubjectCounts(t, s, "s.>")
	return counts
}

func TestConcurrentPublishesShareBatchesAndEachGetsItsSequence(t *testing.T) {
	nc, js := setup(t, true)
	w := newWriter(t, nc, js, Config{MinBatch: 2, InFlight: 1})
	const n = 500
	msgs := batchOf(n, func(i int) int { return i })
	acks, errs := publishAll(w, msgs)
	seqs := map[uint64]int{}
	for i := range msgs {
		if errs[i] != nil {
			t.Fatalf("publish %d: %v", i, errs[i])
		}
		seqs[acks[i].Sequence] = i
	}
	if len(seqs) != n {
		t.Fatalf("%d distinct sequences for %d messages", len(seqs), n)
	}
	s, _ := js.Stream(context.Background(), "S")
	for seq, i := range seqs {
		m, err := s.GetMsg(context.Background(), seq)
		if err != nil || m.Subject != msgs[i].Subject {
			t.Fatalf("message %d acknowledged at %d, which holds %v (%v)", i, seq, m, err)
		}
	}
	if st := w.Stats(); st.Batches == 0 || st.Batched+st.Singles != n {
		t.Fatalf("stats %+v: want batches, and every message sent once", st)
	}
}

func TestARefusedMessageFailsAloneAndItsNeighboursAreStored(t *testing.T) {
	nc, js := setup(t, true)
	// s.7 already holds a message, so one expecting it empty is refused.
	if _, err := js.PublishMsg(context.Background(), msg(7)); err != nil {
		t.Fatal(err)
	}
	w := newWriter(t, nc, js, Config{MinBatch: 2, InFlight: 1})
	msgs := batchOf(64, func(i int) int { return i })
	second := msg(7)
	second.Header.Set(jetstream.MsgIDHeader, "another")
	msgs = append(msgs, second)
	_, errs := publishAll(w, msgs)
	for i, err := range errs {
		switch {
		case i == 7 && !jserr.IsWrongLastSequence(err) && err != nil:
			t.Errorf("publish of a stored message ID: %v", err)
		case i == len(msgs)-1 && !jserr.IsWrongLastSequence(err):
			t.Errorf("second message on s.7: err %v, want wrong last sequence", err)
		case i != 7 && i != len(msgs)-1 && err != nil:
			t.Errorf("publish %d failed with a refused neighbour: %v", i, err)
		}
	}
	counts := stored(t, js)
	for i := range 64 {
		if c := counts["s."+strconv.Itoa(i)]; c != 1 {
			t.Errorf("s.%d holds %d messages, want 1", i, c)
		}
	}
}

func TestSameMessageIDInOneQueueIsStoredOnce(t *testing.T) {
	nc, js := setup(t, true)
	w := newWriter(t, nc, js, Config{MinBatch: 2, InFlight: 1})
	msgs := batchOf(100, func(i int) int { return i % 10 })
	acks, errs := publishAll(w, msgs)
	bySubject := map[string]uint64{}
	for i, err := range errs {
		if err != nil && !jserr.IsWrongLastSequence(err) {
			t.Fatalf("publish %d: %v", i, err)
		}
		if err == nil && !acks[i].Duplicate {
			if prev, ok := bySubject[msgs[i].Subject]; ok {
				t.Fatalf("%s stored twice, at %d and %d", msgs[i].Subject, prev, acks[i].Sequence)
			}
			bySubject[msgs[i].Subject] = acks[i].Sequence
		}
	}
	for subj, c := range stored(t, js) {
		if c != 1 {
			t.Errorf("%s holds %d messages", subj, c)
		}
	}
}

func TestARepeatedMessageGoesAloneOnceKnown(t *testing.T) {
	nc, js := setup(t, true)
	if _, err := js.PublishMsg(context.Background(), msg(0)); err != nil {
		t.Fatal(err)
	}
	w := newWriter(t, nc, js, Config{MinBatch: 2, InFlight: 1})
	for round := range 5 {
		msgs := []*nats.Msg{msg(0)}
		for i := range 30 {
			msgs = append(msgs, msg(1000*(round+1)+i))
		}
		_, errs := publishAll(w, msgs)
		for i, err := range errs[1:] {
			if err != nil {
				t.Fatalf("round %d, message %d: %v", round, i, err)
			}
		}
	}
	if st := w.Stats(); st.Refused > 1 {
		t.Fatalf("stats %+v: a known repeat had %d batches refused, want at most the first", st, st.Refused)
	}
}

func TestABatchWithoutAnAnswerFailsItsCallersAsUnanswered(t *testing.T) {
	nc, js := setup(t, true)
	// No commit is answered within a nanosecond: each batch's fate is
	// unknown to its callers.
	w := newWriter(t, nc, js, Config{MinBatch: 2, InFlight: 1, Timeout: time.Nanosecond})
	msgs := batchOf(200, func(i int) int { return i })
	_, errs := publishAll(w, msgs)
	failed := 0
	for i, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, context.DeadlineExceeded):
			failed++
		default:
			t.Fatalf("publish %d: %v, want success or an unanswered publish", i, err)
		}
	}
	if failed == 0 {
		t.Fatalf("no publish failed; stats %+v", w.Stats())
	}
	// Each caller would retry with the same message ID: whatever was
	// stored, nothing is stored twice.
	for subj, c := range stored(t, js) {
		if c != 1 {
			t.Errorf("%s holds %d messages", subj, c)
		}
	}
}

func TestAStreamWithoutAtomicBatchesGetsSingles(t *testing.T) {
	nc, js := setup(t, false)
	w := newWriter(t, nc, js, Config{MinBatch: 2, InFlight: 1})
	msgs := batchOf(200, func(i int) int { return i })
	_, errs := publishAll(w, msgs)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	if got := len(stored(t, js)); got != len(msgs) {
		t.Fatalf("%d subjects stored, want %d", got, len(msgs))
	}
	if st := w.Stats(); st.Batches != 0 || st.Singles != uint64(len(msgs)) {
		t.Fatalf("stats %+v: want every message alone", st)
	}
}

func TestALonePublishGoesAtOnce(t *testing.T) {
	nc, js := setup(t, true)
	w := newWriter(t, nc, js, Config{})
	for i := range 5 {
		if _, err := w.PublishMsg(context.Background(), msg(i)); err != nil {
			t.Fatal(err)
		}
	}
	if st := w.Stats(); st.Singles != 5 || st.Batches != 0 {
		t.Fatalf("stats %+v: want 5 singles", st)
	}
}

func TestAnAbandonedPublishIsNotSent(t *testing.T) {
	nc, js := setup(t, true)
	w := newWriter(t, nc, js, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.PublishMsg(ctx, msg(1)); err == nil {
		t.Fatal("publish with an ended context succeeded")
	}
	if _, err := w.PublishMsg(context.Background(), msg(2)); err != nil {
		t.Fatal(err)
	}
	if c := stored(t, js)["s.1"]; c > 1 {
		t.Fatalf("s.1 holds %d", c)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{MinBatch: 1}, {MaxBatch: 1001}, {MinBatch: 20, MaxBatch: 10}, {InFlight: 51}, {Timeout: -1}} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: valid", c)
		}
	}
}

// BenchmarkPublish measures publishes by 64 goroutines at once on a stream
// that syncs every write, alone and grouped, to find where batches start
// to pay.
func BenchmarkPublish(b *testing.B) {
	for _, min := range []int{0, 2, 4, 8, 12, 16, 32} {
		b.Run(fmt.Sprintf("min=%d", min), func(b *testing.B) {
			nc, js := setup(b, true)
			var pub Single = js
			if min > 0 {
				pub = newWriter(b, nc, js, Config{MinBatch: min})
			}
			b.SetParallelism(32)
			var n atomicCounter
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					m := msg(n.next())
					if _, err := pub.PublishMsg(context.Background(), m); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

type atomicCounter struct {
	mu sync.Mutex
	n  int
}

func (c *atomicCounter) next() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return c.n
}

func TestGroupSendsOnlyItsStreamsThroughWriters(t *testing.T) {
	nc, js := setup(t, true)
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "OTHER", Subjects: []string{"o.>"}}); err != nil {
		t.Fatal(err)
	}
	g, err := Group(nc, js, Config{}, map[string]string{"S": "s."})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	if _, err := g.PublishMsg(context.Background(), msg(1)); err != nil {
		t.Fatal(err)
	}
	ack, err := g.PublishMsg(context.Background(), &nats.Msg{Subject: "o.1", Data: []byte("x")})
	if err != nil || ack.Stream != "OTHER" {
		t.Fatalf("publish to OTHER: %+v, %v", ack, err)
	}
	if st := g.Writers()["S"].Stats(); st.Singles != 1 || len(g.Writers()) != 1 {
		t.Fatalf("S's writer sent %+v, want the one message on S", st)
	}
}
