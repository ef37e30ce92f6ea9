package history

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/infra/jserr"
	"github.com/nats-io/nats.go/jetstream"
)

// Message is one message of the history.
type Message struct {
	// Segment is the segment that holds it, and Seq its sequence there.
	Segment string
	Seq     uint64
	// Origin is where it was copied from.
	Origin Origin
	// Data is the message as first stored: an invoice event or a settled
	// delivery record.
	Data []byte
}

// Event decodes an invoice event. It fails for a message that is none.
func (m Message) Event() (events.Event, error) {
	return events.DecodeMsg(m.Origin.Subject, m.Data)
}

// Reader reads, in order, the messages the history held when it was made
// that match a filter, from a point in time.
type Reader struct {
	parts []readerPart
	total int
	last  map[string]uint64 // origin stream → the newest sequence read from it
}

// readerPart is the reading of one segment.
type readerPart struct {
	segment string
	cons    jetstream.Consumer
	pending int
}

// NewReader returns a reader of the messages under filter stored at or
// after since (the zero time for all). It fails when the history cannot be
// read.
func NewReader(ctx context.Context, js Source, filter string, since time.Time) (*Reader, error) {
	segs, err := Segments(ctx, js)
	if err != nil {
		return nil, err
	}
	r := &Reader{last: map[string]uint64{}}
	for _, name := range segs {
		cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}}
		if !since.IsZero() {
			cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
		}
		cons, err := js.OrderedConsumer(ctx, name, cfg)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			continue // expired meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		info, err := cons.Info(ctx)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		if info.NumPending > 0 {
			r.parts = append(r.parts, readerPart{segment: name, cons: cons, pending: int(info.NumPending)})
			r.total += int(info.NumPending)
		}
	}
	return r, nil
}

// Total returns how many messages the reader reads, at most: a message
// copied twice across a segment boundary is read once.
func (r *Reader) Total() int { return r.total }

// Each calls fn for every message in order, and stops at the first error
// of fn. A read that fails for a moment, as while a stream elects a
// leader, is tried again until ctx ends. It fails when the history cannot
// be read or fn fails.
func (r *Reader) Each(ctx context.Context, fn func(Message) error) error {
	for _, p := range r.parts {
		if err := r.eachIn(ctx, p, fn); err != nil {
			return err
		}
	}
	return nil
}

// eachIn calls fn for every message of one segment.
func (r *Reader) eachIn(ctx context.Context, p readerPart, fn func(Message) error) error {
	pause := 50 * time.Millisecond
	for read := 0; read < p.pending; {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("read %s: %w", p.segment, err)
		}
		batch, err := p.cons.Fetch(min(p.pending-read, 500), jetstream.FetchMaxWait(5*time.Second))
		if err != nil && jserr.IsTransient(err) {
			select {
			case <-ctx.Done():
			case <-time.After(pause):
				pause = min(2*pause, 2*time.Second)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", p.segment, err)
		}
		for msg := range batch.Messages() {
			read++
			m, err := message(p.segment, msg)
			if err != nil {
				return err
			}
			if m.Origin.Seq <= r.last[m.Origin.Stream] {
				continue // the end of the segment before, copied again
			}
			r.last[m.Origin.Stream] = m.Origin.Seq
			if err := fn(m); err != nil {
				return err
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !jserr.IsTransient(err) {
			return fmt.Errorf("read %s: %w", p.segment, err)
		}
	}
	return nil
}

// message returns the history message msg of segment.
func message(segment string, msg jetstream.Msg) (Message, error) {
	md, err := msg.Metadata()
	if err != nil {
		return Message{}, fmt.Errorf("read %s: %w", segment, err)
	}
	origin, err := OriginOf(msg.Headers())
	if err != nil {
		return Message{}, fmt.Errorf("read %s %d: %w", segment, md.Sequence.Stream, err)
	}
	return Message{Segment: segment, Seq: md.Sequence.Stream, Origin: origin, Data: msg.Data()}, nil
}

// AwaitInvoices waits until the history holds every event the INVOICES
// stream held when it was called, which sourcing copies within moments;
// messages at the stream's end that the history never copies (see
// Uncopied) are not waited for. It fails when ctx ends first or the streams
// cannot be read.
func AwaitInvoices(ctx context.Context, js Segmented) error {
	invoices, err := js.Stream(ctx, events.StreamInvoices)
	if err != nil {
		return fmt.Errorf("await the history: %w", err)
	}
	last := invoices.CachedInfo().State.LastSeq
	for pause := 10 * time.Millisecond; ; pause = min(2*pause, 500*time.Millisecond) {
		copied, err := Copied(ctx, js, Invoices)
		if err != nil {
			return err
		}
		if copied >= last {
			return nil
		}
		uncopied, err := Uncopied(ctx, invoices, copied, last)
		if err != nil {
			return fmt.Errorf("await the history: %w", err)
		}
		if copied+uint64(len(uncopied)) >= last {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the history holds %s up to %d of %d: %w", events.StreamInvoices, copied, last, ctx.Err())
		case <-time.After(pause):
		}
	}
}
