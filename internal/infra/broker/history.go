package broker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/history"
	"github.com/nats-io/nats.go/jetstream"
)

// historyDedupWindow is a segment's duplicate window: sourcing copies each
// message once by itself, so this only has to catch a copy repeated while
// a source recovers, and costs memory for every message it covers.
const historyDedupWindow = 10 * time.Second

// defaultSegmentBytes is how large a segment grows by default: a restart
// after a crash reads about this much, twice at most.
const defaultSegmentBytes = 512 << 20

// historyStart is where a segment starts copying: the first sequence of
// INVOICES and of WEBHOOKS it copies, 0 for the start of the stream.
type historyStart struct{ invoices, deliveries uint64 }

// historySegmentConfig returns the configuration of the history segment
// name, copying every event of INVOICES and every settled delivery record
// of WEBHOOKS from start on, onto a fixed set of subjects; undeletable
// message by message.
func (s Streams) historySegmentConfig(name string, start historyStart) jetstream.StreamConfig {
	cfg := s.InvoiceStreamConfig()
	cfg.Name = name
	cfg.Description = "invoiced: a segment of the history, every invoice event and settled delivery in order (see internal/infra/history)"
	cfg.Subjects = nil
	cfg.Discard = jetstream.DiscardOld
	cfg.Duplicates = historyDedupWindow
	// A copy carries its origin in a header of its own, so an event at its
	// own stream's size limit would not fit under the same limit here.
	cfg.MaxMsgSize = -1
	cfg.AllowAtomicPublish = false
	if s.HistoryUnsynced && cfg.Replicas == 1 {
		// A copy: what it holds is on INVOICES or WEBHOOKS, synced, until
		// it has been on disk here for a while (HistorySyncInterval).
		cfg.PersistMode = jetstream.AsyncPersistMode
	}
	cfg.Sources = []*jetstream.StreamSource{
		{Name: events.StreamInvoices, OptStartSeq: start.invoices, SubjectTransforms: history.InvoiceTransforms()},
		{Name: webhook.StreamWebhooks, OptStartSeq: start.deliveries, SubjectTransforms: []jetstream.SubjectTransformConfig{
			{Source: webhook.AllDone, Destination: history.DeliveryTransform()}}},
	}
	return cfg
}

// startOf returns where the segment configured as cfg started copying.
func startOf(cfg jetstream.StreamConfig) historyStart {
	var start historyStart
	for _, src := range cfg.Sources {
		switch src.Name {
		case events.StreamInvoices:
			start.invoices = src.OptStartSeq
		case webhook.StreamWebhooks:
			start.deliveries = src.OptStartSeq
		}
	}
	return start
}

// HistoryManager is what keeping the history needs of a JetStream context;
// jetstream.JetStream is one.
type HistoryManager interface {
	StreamManager
	history.Lister
	DeleteStream(ctx context.Context, name string) error
}

// keepTries is how often KeepHistory tries: another process may seal or
// start a segment between one try's listing and its update, which
// JetStream then refuses, and the next try's listing sees.
const keepTries = 3

// KeepHistory makes sure the history has a segment copying from the live
// streams, and returns it: it creates the first one; seals the newest once
// it holds HistorySegmentBytes, or holds a message older than the
// retention, and starts the next where the sealed one stopped; and deletes
// sealed segments whose newest message is older than the retention. Any
// number of processes may do this at once. It fails when JetStream
// refuses keepTries times or cannot be reached.
func (s Streams) KeepHistory(ctx context.Context, js HistoryManager, now time.Time) (jetstream.Stream, error) {
	var err error
	for range keepTries {
		var st jetstream.Stream
		if st, err = s.keepHistory(ctx, js, now); err == nil || ctx.Err() != nil {
			return st, err
		}
	}
	return nil, err
}

// keepHistory is one try of KeepHistory.
func (s Streams) keepHistory(ctx context.Context, js HistoryManager, now time.Time) (jetstream.Stream, error) {
	segs, err := history.Segments(ctx, js)
	if err != nil {
		return nil, err
	}
	if len(segs) == 0 {
		return EnsureStream(ctx, js, s.historySegmentConfig(history.SegmentName(1), historyStart{}))
	}
	newest := segs[len(segs)-1]
	st, err := js.Stream(ctx, newest)
	if err != nil {
		return nil, fmt.Errorf("history segment %s: %w", newest, err)
	}
	info := st.CachedInfo()
	if err := s.expire(ctx, js, segs[:len(segs)-1], now); err != nil {
		return nil, err
	}
	if !info.Config.Sealed && !s.full(info.State, now) && copiesEveryForm(info.Config) {
		return EnsureStream(ctx, js, s.historySegmentConfig(newest, startOf(info.Config)))
	}
	if !info.Config.Sealed {
		sealed := info.Config
		sealed.Sources, sealed.Sealed = nil, true
		if _, err := js.UpdateStream(ctx, sealed); err != nil {
			return nil, fmt.Errorf("seal history segment %s: %w", newest, err)
		}
	}
	return s.next(ctx, js, segs)
}

// copiesEveryForm reports whether a segment configured as cfg copies
// invoice events under every subject form they take. One made before
// accounts existed does not: it is sealed rather than changed, since a
// source whose transforms change would start copying again from its
// start.
func copiesEveryForm(cfg jetstream.StreamConfig) bool {
	for _, src := range cfg.Sources {
		if src.Name == events.StreamInvoices {
			return slices.Equal(src.SubjectTransforms, history.InvoiceTransforms())
		}
	}
	return false
}

// full reports whether a segment in state is done: large enough, or
// holding a message the retention will want gone.
func (s Streams) full(state jetstream.StreamState, now time.Time) bool {
	limit := s.HistorySegmentBytes
	if limit == 0 {
		limit = defaultSegmentBytes
	}
	old := s.HistoryRetention > 0 && state.Msgs > 0 && state.FirstTime.Before(now.Add(-s.HistoryRetention))
	return state.Bytes >= limit || old
}

// next creates the segment after the last of segs, which is sealed,
// copying from where the segments hold each source up to.
func (s Streams) next(ctx context.Context, js HistoryManager, segs []string) (jetstream.Stream, error) {
	invoices, err := history.CopiedIn(ctx, js, segs, history.Invoices)
	if err != nil {
		return nil, err
	}
	deliveries, err := history.CopiedIn(ctx, js, segs, history.Deliveries)
	if err != nil {
		return nil, err
	}
	n, _ := history.SegmentNumber(segs[len(segs)-1])
	start := historyStart{invoices: invoices + 1, deliveries: deliveries + 1}
	return EnsureStream(ctx, js, s.historySegmentConfig(history.SegmentName(n+1), start))
}

// expire deletes the sealed segments of segs whose newest message is older
// than the retention.
func (s Streams) expire(ctx context.Context, js HistoryManager, sealed []string, now time.Time) error {
	if s.HistoryRetention <= 0 {
		return nil
	}
	for _, name := range sealed {
		st, err := js.Stream(ctx, name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("history segment %s: %w", name, err)
		}
		if st.CachedInfo().State.LastTime.After(now.Add(-s.HistoryRetention)) {
			return nil // this and every later one are kept
		}
		if err := js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("expire history segment %s: %w", name, err)
		}
	}
	return nil
}
