package history

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// The history is a series of streams, its segments: HISTORY_000001,
// HISTORY_000002 and so on. The newest copies from the live streams; once
// it is large enough it is sealed, never to change again, and the next one
// goes on from where it stopped. After a crash JetStream rebuilds a stream
// that was written since it last saved its index by reading all of it, and
// a stream being copied into always was; a sealed segment is not, so a
// restart reads at most the newest segment or two, however long the
// history.

// segmentPrefix starts the name of every segment.
const segmentPrefix = "HISTORY_"

// SegmentName returns the name of segment n, counted from 1.
func SegmentName(n int) string { return fmt.Sprintf("%s%06d", segmentPrefix, n) }

// SegmentNumber returns the number of the segment called name, and whether
// name is a segment's.
func SegmentNumber(name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, segmentPrefix)
	n, err := strconv.Atoi(digits)
	return n, ok && err == nil && n > 0 && name == SegmentName(n)
}

// Lister lists the names of streams; jetstream.JetStream is one.
type Lister interface {
	StreamNames(ctx context.Context, opts ...jetstream.StreamListOpt) jetstream.StreamNameLister
}

// Segments returns the names of the history's segments, oldest first. It
// fails when the streams cannot be listed.
func Segments(ctx context.Context, js Lister) ([]string, error) {
	names := js.StreamNames(ctx)
	var segs []string
	for name := range names.Name() {
		if _, ok := SegmentNumber(name); ok {
			segs = append(segs, name)
		}
	}
	if err := names.Err(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
		return nil, fmt.Errorf("list history segments: %w", err)
	}
	slices.Sort(segs)
	return segs, nil
}

// Source is what reading the history needs of a JetStream context;
// jetstream.JetStream is one.
type Source interface {
	Lister
	Stream(ctx context.Context, name string) (jetstream.Stream, error)
	OrderedConsumer(ctx context.Context, stream string, cfg jetstream.OrderedConsumerConfig) (jetstream.Consumer, error)
}

// Segmented is what finding how far the history holds its sources needs;
// jetstream.JetStream is one.
type Segmented interface {
	Lister
	Stream(ctx context.Context, name string) (jetstream.Stream, error)
}

// Copied returns the sequence, in the stream it was copied from, of the
// newest message the history holds under filter (Invoices or Deliveries):
// what its segments have stored, not what they are copying. It returns 0
// when none holds any, and fails when the history cannot be read.
func Copied(ctx context.Context, js Segmented, filter string) (uint64, error) {
	segs, err := Segments(ctx, js)
	if err != nil {
		return 0, err
	}
	return CopiedIn(ctx, js, segs, filter)
}

// CopiedIn is Copied over the segments segs, oldest first.
func CopiedIn(ctx context.Context, js Segmented, segs []string, filter string) (uint64, error) {
	for _, name := range slices.Backward(segs) {
		st, err := js.Stream(ctx, name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			continue // expired meanwhile
		}
		if err != nil {
			return 0, fmt.Errorf("read %s: %w", name, err)
		}
		msg, err := st.GetLastMsgForSubject(ctx, filter)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("read %s: %w", name, err)
		}
		origin, err := OriginOf(msg.Header)
		if err != nil {
			return 0, fmt.Errorf("read %s %d: %w", name, msg.Sequence, err)
		}
		return origin.Seq, nil
	}
	return 0, nil
}
