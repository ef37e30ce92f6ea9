package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/jserr"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Rolling forward. A message that outlives the ones around it — a failing
// delivery's pending retry, its live record — holds its stream's first
// sequence back while compaction removes everything after it. JetStream
// keeps every removed sequence between the first and the last as an
// interior delete and, past a million of them, stops writing the index it
// recovers from after a crash (nats-server's highCardinalityThreshold), so
// a restart after kill -9 would scan everything since the oldest survivor.
// Once a stream has more than Compaction.RollAfter interior deletes, the
// survivors in its older half are therefore published again at its end —
// the same subject, headers and data, refused if the subject has changed
// since — and the originals removed.

// survivors names the long-lived messages of one stream.
type survivors struct {
	stream, filter string
	// leaving reports a message that is about to be removed anyway, which
	// is not rolled; nil means none is.
	leaving func(*jetstream.RawStreamMsg) bool
}

// rolledStreams are the streams whose survivors are rolled forward.
var rolledStreams = []survivors{
	{stream: webhook.StreamWebhooks, filter: webhook.ScheduleSubject("*", "*")},
	{stream: webhook.LiveStream, filter: webhook.LiveSubject("*"), leaving: settledRecord},
}

// settledRecord reports whether m is not a live delivery record: a settled
// one, which its dispatcher is moving out of the bucket, or a marker.
func settledRecord(m *jetstream.RawStreamMsg) bool {
	var d webhook.Delivery
	return m.Header.Get("KV-Operation") != "" || json.Unmarshal(m.Data, &d) != nil || d.Settled()
}

// rollFor bounds the time one compaction spends rolling: a busy server
// moves what it can each tick instead of failing every tick's deadline.
const rollFor = 5 * time.Second

// rollAll rolls every stream of rolledStreams that needs it, for at most
// rollFor; what is left waits for the next call.
func (c *Compactor) rollAll(ctx context.Context) error {
	budget, cancel := context.WithTimeout(ctx, rollFor)
	defer cancel()
	err := c.rollEach(budget)
	if budget.Err() != nil && ctx.Err() == nil {
		return nil
	}
	return err
}

// rollEach rolls every stream of rolledStreams that needs it.
func (c *Compactor) rollEach(ctx context.Context) error {
	for _, s := range rolledStreams {
		st, err := c.js.Stream(ctx, s.stream)
		if err != nil {
			return err
		}
		info, err := st.Info(ctx)
		if err != nil {
			return err
		}
		if err := c.roll(ctx, st, info.State, s); err != nil {
			return err
		}
	}
	return nil
}

// roll moves the survivors in the older half of st to its end when st has
// more than RollAfter interior deletes, state being its state. It fails
// when st cannot be read or written, or ctx ends; what it moved stays
// moved, and the next call goes on from there.
func (c *Compactor) roll(ctx context.Context, st jetstream.Stream, state jetstream.StreamState, s survivors) error {
	span := state.LastSeq - state.FirstSeq + 1
	if state.Msgs == 0 || span-state.Msgs <= c.cfg.RollAfter {
		return nil
	}
	target := state.FirstSeq + span/2
	for seq := max(state.FirstSeq, c.rolled[s.stream]); seq < target; {
		m, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(s.filter))
		if errors.Is(err, jetstream.ErrMsgNotFound) || (err == nil && m.Sequence >= target) {
			break
		}
		if err != nil {
			return fmt.Errorf("roll %s forward: %w", s.stream, err)
		}
		if m.Sequence < seq {
			return fmt.Errorf("roll %s forward: asked for a message from %d, got %d", s.stream, seq, m.Sequence)
		}
		if s.leaving == nil || !s.leaving(m) {
			if err := c.move(ctx, st, m); err != nil {
				return fmt.Errorf("roll %s forward: %w", s.stream, err)
			}
		}
		seq = m.Sequence + 1
		c.rolled[s.stream] = seq
	}
	c.rolled[s.stream] = target
	return nil
}

// move publishes m again at the end of st, unless its subject has had
// another message since or has none left, and then removes m. It copies
// m's own headers and its schedule, not the headers JetStream adds or
// reads (the stream, sequence and time of a get, expectations, message
// IDs).
func (c *Compactor) move(ctx context.Context, st jetstream.Stream, m *jetstream.RawStreamMsg) error {
	msg := &nats.Msg{Subject: m.Subject, Data: m.Data, Header: nats.Header{}}
	for k, v := range m.Header {
		if !strings.HasPrefix(k, "Nats-") || strings.HasPrefix(k, jetstream.ScheduleHeader) {
			msg.Header[k] = v
		}
	}
	ack, err := c.js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequencePerSubject(m.Sequence))
	if jserr.IsWrongLastSequence(err) || jserr.IsConcurrentPublish(err) {
		return nil // changed or gone since: whoever did that moved it on
	}
	if err != nil {
		return fmt.Errorf("message %d: %w", m.Sequence, err)
	}
	if err := st.Purge(ctx, jetstream.WithPurgeSubject(m.Subject), jetstream.WithPurgeSequence(ack.Sequence)); err != nil {
		return fmt.Errorf("message %d, moved to %d: %w", m.Sequence, ack.Sequence, err)
	}
	return nil
}
