package groupcommit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/invoiced/invoiced/internal/testing/goroutines"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// recording is a Single that notes the goroutines its publishes run on.
type recording struct {
	Single
	mu  sync.Mutex
	ran map[string]bool
}

func (r *recording) PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	r.mu.Lock()
	r.ran[goroutines.ID()] = true
	r.mu.Unlock()
	return r.Single.PublishMsg(ctx, msg, opts...)
}

// TestPublishesRunOnTheWritersSenders publishes one message after another
// and checks that they all went out from the Writer's InFlight senders,
// not from a goroutine each, and that Close ends the senders.
func TestPublishesRunOnTheWritersSenders(t *testing.T) {
	nc, js := setup(t, true)
	rec := &recording{Single: js, ran: map[string]bool{}}
	w, err := New(nc, rec, Config{InFlight: 2})
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	for i := range n {
		if _, err := w.PublishMsg(context.Background(), msg(i)); err != nil {
			t.Fatal(err)
		}
	}
	rec.mu.Lock()
	if len(rec.ran) > 2 {
		t.Errorf("%d lone publishes ran on %d goroutines; want the 2 senders", n, len(rec.ran))
	}
	rec.mu.Unlock()
	if got := goroutines.Running("groupcommit.(*Writer).sender"); got != 2 {
		t.Errorf("%d senders running, want 2", got)
	}
	w.Close()
	natstest.Eventually(t, 10*time.Second, "no sender left after Close", func() bool {
		return goroutines.Running("groupcommit.(*Writer).sender") == 0
	})
}

// TestABatchEndsOnlyAtItsLastMessage gives a message that carries a batch's
// headers from where it was stored: inside a new batch, only the new
// batch's say where it ends.
func TestABatchEndsOnlyAtItsLastMessage(t *testing.T) {
	stale := nats.NewMsg("s")
	stale.Header.Set(headerBatchID, "old")
	stale.Header.Set(headerBatchSeq, "9")
	stale.Header.Set(headerBatchCommit, "1")
	inside, last := batchMsg(stale, "new", 2, false), batchMsg(stale, "new", 3, true)
	if inside.Header.Get(headerBatchCommit) != "" || inside.Header.Get(headerBatchID) != "new" || inside.Header.Get(headerBatchSeq) != "2" {
		t.Fatalf("inside the batch: %v", inside.Header)
	}
	if last.Header.Get(headerBatchCommit) != "1" || stale.Header.Get(headerBatchID) != "old" {
		t.Fatalf("its last: %v; the message given: %v", last.Header, stale.Header)
	}
}
