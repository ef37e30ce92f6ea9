// Package groupcommit publishes to one JetStream stream so that concurrent
// writers share the stream's disk syncs.
//
// A stream that syncs before it acknowledges (nats-server's sync always)
// syncs each single publish on its own, so singles go no faster than one
// file takes syncs. An atomic batch (ADR-50, nats-server 2.12+) is stored
// with one sync. A Writer publishes a message at once while the stream is
// keeping up; once messages wait for it, it sends those waiting as one
// atomic batch, and while one batch syncs the next one fills. No timer ever
// holds a message back to fill a batch.
//
// A batch is all or nothing: one message the stream refuses (a duplicate
// message ID, a wrong expected sequence) refuses the whole batch. The
// Writer then publishes that batch's messages one by one, so each gets the
// answer it would have got alone and never fails its neighbours.
package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Headers of an atomic batch (ADR-50).
const (
	headerBatchID     = "Nats-Batch-Id"
	headerBatchSeq    = "Nats-Batch-Sequence"
	headerBatchCommit = "Nats-Batch-Commit"
)

// MaxBatch is the most messages nats-server takes in one atomic batch.
const MaxBatch = 1000

// Config tunes a Writer; the zero value takes every default.
type Config struct {
	// MinBatch is the fewest waiting messages sent as one batch; fewer are
	// published one by one, since staging a batch costs more than a few
	// singles. Default 12.
	MinBatch int
	// MaxBatch is the most messages in one batch. Default 256, at most
	// MaxBatch.
	MaxBatch int
	// InFlight is how many sends (a batch, or a round of singles) may be
	// under way at once; the server allows 50 batches in flight per
	// stream. Default 2.
	InFlight int
	// Timeout bounds one batch from its first message to its commit's
	// answer. Default 5 s.
	Timeout time.Duration
}

// Validate fills in defaults and reports a setting out of range.
func (c *Config) Validate() error {
	if c.MinBatch == 0 {
		c.MinBatch = 12
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = 256
	}
	if c.InFlight == 0 {
		c.InFlight = 2
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	switch {
	case c.MinBatch < 2 || c.MaxBatch < c.MinBatch || c.MaxBatch > MaxBatch:
		return fmt.Errorf("groupcommit: batches must hold 2 to %d messages, not %d to %d", MaxBatch, c.MinBatch, c.MaxBatch)
	case c.InFlight < 1 || c.InFlight > 50:
		return fmt.Errorf("groupcommit: in flight must be 1 to 50, not %d", c.InFlight)
	case c.Timeout < 0:
		return errors.New("groupcommit: negative timeout")
	}
	return nil
}

// Single publishes one message and waits for its acknowledgement;
// jetstream.JetStream is one.
type Single interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

// Requester sends a message and waits for its answer; *nats.Conn is one.
type Requester interface {
	PublishMsg(msg *nats.Msg) error
	RequestMsgWithContext(ctx context.Context, msg *nats.Msg) (*nats.Msg, error)
}

// Writer publishes to one stream, grouping concurrent publishes into
// atomic batches. It is safe for concurrent use.
type Writer struct {
	cfg     Config
	nc      Requester
	js      Single
	wake    chan struct{}
	stop    chan struct{}
	closed  sync.Once
	senders sync.WaitGroup

	mu      sync.Mutex
	queue   []*call
	repeats repeats

	batches, batched, singles, refused atomic.Uint64
}

// call is one message waiting for its acknowledgement.
type call struct {
	ctx   context.Context
	msg   *nats.Msg
	state atomic.Int32 // queued, taken or abandoned
	ack   *jetstream.PubAck
	err   error
	done  chan struct{}
}

const (
	queued int32 = iota
	taken
	abandoned
)

// New returns a Writer that sends batches through nc and single messages
// through js, both for the same stream. Close stops it.
func New(nc Requester, js Single, cfg Config) (*Writer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := &Writer{
		cfg: cfg, nc: nc, js: js,
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
	}
	for range cfg.InFlight {
		w.senders.Go(w.sender)
	}
	return w, nil
}

// PublishMsg stores msg on the stream and returns its acknowledgement, as
// jetstream.JetStream.PublishMsg does: the message's own headers (message
// ID, expected stream, expected subject sequence) are checked as for a
// single publish, and refusals come back as the same errors. Options other
// than headers cannot travel in a batch, so a call with opts is published
// on its own. It fails with ctx's error if ctx ends first; the message may
// then be stored or not, as with any publish that got no answer.
func (w *Writer) PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	if len(opts) > 0 {
		return w.js.PublishMsg(ctx, msg, opts...)
	}
	c := &call{ctx: ctx, msg: msg, done: make(chan struct{})}
	if !w.enqueue(c) {
		return w.js.PublishMsg(ctx, msg)
	}
	select {
	case <-c.done:
		return c.ack, c.err
	case <-ctx.Done():
		if c.state.CompareAndSwap(queued, abandoned) {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("publish to %s: no answer: %w", msg.Subject, ctx.Err())
	}
}

// enqueue queues c and wakes the sender; it reports false once the Writer
// is closed.
func (w *Writer) enqueue(c *call) bool {
	select {
	case <-w.stop:
		return false
	default:
	}
	w.mu.Lock()
	w.queue = append(w.queue, c)
	w.mu.Unlock()
	w.signal()
	return true
}

// signal wakes a sender waiting for messages.
func (w *Writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Close stops taking messages, lets the sends under way finish, and
// publishes what is still queued one by one.
func (w *Writer) Close() {
	w.closed.Do(func() { close(w.stop) })
	w.senders.Wait()
	w.mu.Lock()
	rest := w.queue
	w.queue = nil
	w.mu.Unlock()
	for _, c := range rest {
		if c.state.CompareAndSwap(queued, taken) {
			w.single(c)
		}
	}
}

// Stats counts what a Writer has sent: batches and the messages in them,
// messages published alone, and batches the stream refused.
type Stats struct {
	Batches, Batched, Singles, Refused uint64
}

// Add returns the sum of s and o.
func (s Stats) Add(o Stats) Stats {
	return Stats{Batches: s.Batches + o.Batches, Batched: s.Batched + o.Batched, Singles: s.Singles + o.Singles, Refused: s.Refused + o.Refused}
}

// Stats returns what w has sent so far.
func (w *Writer) Stats() Stats {
	return Stats{Batches: w.batches.Load(), Batched: w.batched.Load(), Singles: w.singles.Load(), Refused: w.refused.Load()}
}

// sender sends what is queued, one send at a time, until the Writer
// closes: alone while few wait, as a batch once enough do. A Writer has
// InFlight senders; they live as long as it does, since a goroutine started
// per send grows its stack anew for every publish.
func (w *Writer) sender() {
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		calls := w.take()
		if len(calls) == 0 {
			select {
			case <-w.wake:
			case <-w.stop:
				return
			}
			continue
		}
		w.send(calls)
	}
}

// take removes from the queue up to MaxBatch messages that can share a
// batch, skipping abandoned ones. A message that would meet another in the
// batch (same message ID, same subject, or an expected sequence on a
// subject the batch writes) stays queued for the next send: the server
// refuses such a batch, and the later one must see the earlier stored.
func (w *Writer) take() []*call {
	w.mu.Lock()
	defer w.mu.Unlock()
	var calls, rest []*call
	seen := make(map[string]struct{})
	for i, c := range w.queue {
		if len(calls) == w.cfg.MaxBatch {
			rest = append(rest, w.queue[i:]...)
			break
		}
		if c.state.Load() != queued {
			continue
		}
		keys := batchKeys(c.msg)
		if collides(seen, keys) {
			rest = append(rest, c)
			continue
		}
		if !c.state.CompareAndSwap(queued, taken) {
			continue
		}
		for _, k := range keys {
			seen[k] = struct{}{}
		}
		calls = append(calls, c)
	}
	clear(w.queue)
	w.queue = append(w.queue[:0], rest...)
	if len(w.queue) > 0 {
		w.signal() // for another sender, if one is free
	}
	return calls
}

// batchKeys returns what no two messages of one batch may share.
func batchKeys(msg *nats.Msg) []string {
	keys := []string{"s:" + msg.Subject}
	if id := msg.Header.Get(jetstream.MsgIDHeader); id != "" {
		keys = append(keys, "i:"+id)
	}
	if msg.Header.Get(jetstream.ExpectedLastSubjSeqHeader) != "" {
		if subj := msg.Header.Get(jetstream.ExpectedLastSubjSeqSubjHeader); subj != "" {
			keys = append(keys, "s:"+subj)
		}
	}
	return keys
}

func collides(seen map[string]struct{}, keys []string) bool {
	for _, k := range keys {
		if _, ok := seen[k]; ok {
			return true
		}
	}
	return false
}
