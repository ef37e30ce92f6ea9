package groupcommit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// send publishes calls: one by one while they are few, else as one batch,
// and one by one after all if the stream refuses the batch. A message
// whose ID the stream was lately found to hold already goes alone, so that
// a client repeating itself cannot have its neighbours' batches refused.
func (w *Writer) send(calls []*call) {
	group, alone := w.repeats.split(calls)
	if len(group) < w.cfg.MinBatch {
		group, alone = nil, calls
	}
	var wg sync.WaitGroup
	if len(group) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.sendBatch(group)
		}()
	}
	w.singly(alone)
	wg.Wait()
}

// sendBatch publishes calls as one batch, or one by one if the stream
// refuses it.
func (w *Writer) sendBatch(calls []*call) {
	err := w.batch(calls)
	switch {
	case err == nil:
	case refused(err):
		w.refused.Add(1)
		w.singly(calls)
	default:
		// The batch may or may not be stored: each caller learns so, as
		// from a single publish that got no answer, and retries as it would.
		for _, c := range calls {
			c.finish(nil, err)
		}
	}
}

// singly publishes each call on its own, all at once, and returns when
// every one has its answer.
func (w *Writer) singly(calls []*call) {
	if len(calls) == 1 {
		w.single(calls[0])
		return
	}
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.single(c)
		}()
	}
	wg.Wait()
}

// single publishes c alone and, when the stream already holds its message
// ID or refuses it, remembers the ID so that a repeat goes alone too.
func (w *Writer) single(c *call) {
	w.singles.Add(1)
	ack, err := w.js.PublishMsg(c.ctx, c.msg)
	var apiErr *jetstream.APIError
	if err == nil && ack.Duplicate || errors.As(err, &apiErr) {
		w.repeats.add(c.msg)
	}
	c.finish(ack, err)
}

func (c *call) finish(ack *jetstream.PubAck, err error) {
	c.ack, c.err = ack, err
	close(c.done)
}

// batchAck is the answer to a batch's commit.
type batchAck struct {
	jetstream.PubAck
	Batch string              `json:"batch"`
	Count int                 `json:"count"`
	Error *jetstream.APIError `json:"error,omitempty"`
}

// errRefused marks a batch the stream answered with an error, so stored
// none of.
var errRefused = errors.New("batch refused")

func refused(err error) bool { return errors.Is(err, errRefused) }

// batch publishes calls as one atomic batch and, once the stream has
// stored it, gives each call its acknowledgement. It fails wrapping
// errRefused when the stream refused the batch, or with the error that
// left its fate unknown.
func (w *Writer) batch(calls []*call) error {
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.Timeout)
	defer cancel()
	id := nuid.Next()
	last := len(calls) - 1
	for i, c := range calls[:last] {
		if err := w.nc.PublishMsg(batchMsg(c.msg, id, i+1, false)); err != nil {
			return fmt.Errorf("batch message %d of %d: %w", i+1, len(calls), err)
		}
	}
	resp, err := w.nc.RequestMsgWithContext(ctx, batchMsg(calls[last].msg, id, last+1, true))
	if errors.Is(err, nats.ErrNoResponders) {
		return fmt.Errorf("%w: %w", errRefused, err)
	}
	if err != nil {
		return fmt.Errorf("commit batch of %d: %w", len(calls), err)
	}
	var ack batchAck
	if err := json.Unmarshal(resp.Data, &ack); err != nil {
		return fmt.Errorf("commit batch of %d: answer %q: %w", len(calls), resp.Data, err)
	}
	if ack.Error != nil {
		return fmt.Errorf("%w: %w", errRefused, ack.Error)
	}
	if ack.Batch != id || ack.Count != len(calls) || ack.Sequence < uint64(len(calls)) {
		return fmt.Errorf("commit batch %s of %d: answered for batch %q of %d at %d", id, len(calls), ack.Batch, ack.Count, ack.Sequence)
	}
	w.batches.Add(1)
	w.batched.Add(uint64(len(calls)))
	first := ack.Sequence - uint64(last)
	for i, c := range calls {
		c.finish(&jetstream.PubAck{Stream: ack.Stream, Sequence: first + uint64(i), Domain: ack.Domain}, nil)
	}
	return nil
}

// batchMsg returns msg as message seq of batch id, leaving msg as it was
// so that it can still be published alone.
func batchMsg(msg *nats.Msg, id string, seq int, commit bool) *nats.Msg {
	h := make(nats.Header, len(msg.Header)+3)
	for k, v := range msg.Header {
		h[k] = v
	}
	h.Del(headerBatchCommit) // a stale one would end the batch here
	h.Set(headerBatchID, id)
	h.Set(headerBatchSeq, strconv.Itoa(seq))
	if commit {
		h.Set(headerBatchCommit, "1")
	}
	return &nats.Msg{Subject: msg.Subject, Header: h, Data: msg.Data}
}

// maxRepeats bounds the message IDs a Writer remembers as stored.
const maxRepeats = 4096

// repeats remembers the IDs of messages the stream lately refused or found
// stored already: one of them in a batch would have the whole batch
// refused, so a repeat goes alone.
type repeats struct {
	mu  sync.Mutex
	ids map[string]struct{}
}

// add remembers msg's ID, forgetting every other once full.
func (r *repeats) add(msg *nats.Msg) {
	id := msg.Header.Get(jetstream.MsgIDHeader)
	if id == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids == nil || len(r.ids) >= maxRepeats {
		r.ids = make(map[string]struct{})
	}
	r.ids[id] = struct{}{}
}

// split returns the calls whose message IDs are not remembered, and those
// that are.
func (r *repeats) split(calls []*call) (fresh, known []*call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ids) == 0 {
		return calls, nil
	}
	for _, c := range calls {
		if _, ok := r.ids[c.msg.Header.Get(jetstream.MsgIDHeader)]; ok {
			known = append(known, c)
		} else {
			fresh = append(fresh, c)
		}
	}
	return fresh, known
}
