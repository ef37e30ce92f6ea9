package readmodel

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/invoiced/invoiced/internal/infra/history"
	"github.com/nats-io/nats.go/jetstream"
)

// newestSeen is the newest segment a listing found, and when it was asked
// for: no newer segment existed then.
type newestSeen struct {
	segment int
	asked   time.Time
}

// segments returns the numbers of the history's segments, oldest first.
func (f *Follower) segments(ctx context.Context) ([]int, error) {
	asked := time.Now()
	names, err := history.Segments(ctx, f.streams)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	nums := make([]int, 0, len(names))
	for _, name := range names {
		n, _ := history.SegmentNumber(name)
		nums = append(nums, n)
	}
	if len(nums) > 0 {
		f.newest.Store(&newestSeen{segment: nums[len(nums)-1], asked: asked})
	}
	return nums, nil
}

// segmentInfo reads the state of segment n.
func (f *Follower) segmentInfo(ctx context.Context, n int) (*jetstream.StreamInfo, error) {
	st, err := f.streams.Stream(ctx, history.SegmentName(n))
	if err != nil {
		return nil, fmt.Errorf("read model: %s: %w", history.SegmentName(n), err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("read model: %s: %w", history.SegmentName(n), err)
	}
	return info, nil
}

// enter returns the segment the store goes on in, having moved it there:
// the one it is in; the first one for a new store, or for one that was
// built from another history (then emptied first); or, when the segments
// it had yet to apply have expired, the oldest left.
func (f *Follower) enter(ctx context.Context) (int, error) {
	segs, err := f.segments(ctx)
	if err != nil {
		return 0, err
	}
	if len(segs) == 0 {
		return 0, errors.New("read model: the history has no segment")
	}
	at, _, created := f.store.historyPlace()
	if slices.Contains(segs, at) {
		info, err := f.segmentInfo(ctx, at)
		if err != nil {
			return 0, err
		}
		if info.Created.UnixNano() == created {
			return at, nil
		}
	}
	first := segs[0]
	info, err := f.segmentInfo(ctx, first)
	if err != nil {
		return 0, err
	}
	expired := at != 0 && first > at
	restart := at != 0 && !expired
	switch {
	case restart:
		f.log.Warn("read model: built from another history; rebuilding it from this one", "path", f.store.path)
	case expired:
		f.log.Warn("read model: history expired before it was applied; going on after it",
			"from", history.SegmentName(at), "to", history.SegmentName(first))
	}
	return first, f.store.enterSegment(ctx, first, info.Created.UnixNano(), restart)
}

// newestEnd returns the end of the history now: the position of the last
// message of its newest segment.
func (f *Follower) newestEnd(ctx context.Context) (uint64, error) {
	segs, err := f.segments(ctx)
	if err != nil || len(segs) == 0 {
		return 0, err
	}
	info, err := f.segmentInfo(ctx, segs[len(segs)-1])
	if err != nil {
		return 0, err
	}
	return HistoryAt(segs[len(segs)-1], info.State.LastSeq), nil
}

// consume starts consuming segment n after the store's position and
// returns what stops it.
func (f *Follower) consume(ctx context.Context, n int) (func(), error) {
	name := history.SegmentName(n)
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{history.All}, DeliverPolicy: jetstream.DeliverAllPolicy}
	if at, seq := splitHistoryAt(f.resumeAt(ctx, n)); at == n && seq > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, seq+1
	}
	cons, err := f.streams.OrderedConsumer(ctx, name, cfg)
	if err != nil {
		return nil, fmt.Errorf("read model: follow %s: %w", name, err)
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) { f.historyMsg(n, msg) },
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			f.log.Debug("read model: history", "segment", name, "err", err)
		}))
	if err != nil {
		return nil, fmt.Errorf("read model: follow %s: %w", name, err)
	}
	return cc.Stop, nil
}

// resumeAt returns the position after which segment n is read. That is
// the store's position, unless n is written without a sync per message
// (see broker.Streams.HistoryUnsynced): a power loss can take such a
// segment's newest copies, and JetStream then copies those events again,
// and newer ones, at the sequences they had. So such a segment is read
// again from the last position whose copy was surely on disk; each copy
// applied before is recognised by its origin and skipped.
func (f *Follower) resumeAt(ctx context.Context, n int) uint64 {
	at := f.store.Position(HistoryPosition)
	info, err := f.segmentInfo(ctx, n)
	if err != nil || info.Config.PersistMode != jetstream.AsyncPersistMode {
		return at
	}
	synced := min(at, f.store.Position(historySynced))
	if seg, _ := splitHistoryAt(synced); seg < n {
		synced = HistoryAt(n, 0)
	}
	f.store.rewind(synced)
	return synced
}

// historyMsg hands one message of segment n to the writer.
func (f *Follower) historyMsg(n int, msg jetstream.Msg) {
	md, err := msg.Metadata()
	if err != nil {
		f.log.Warn("read model: history message without metadata", "subject", msg.Subject(), "err", err)
		return
	}
	// One without an origin was not copied by the history: it is passed
	// over when applied, after those before it.
	origin, err := history.OriginOf(msg.Headers())
	f.send(item{change: change{segment: n, historySeq: md.Sequence.Stream, stored: md.Timestamp, origin: origin, data: msg.Data(), bad: err},
		pending: md.NumPending, received: time.Now()})
}

// followHistory goes on from segment n, which stop stops consuming, to
// every later one: once a segment is sealed and applied to its end, the
// next is consumed. It looks each second, and as soon as a segment's last
// message is applied. It returns when ctx ends.
func (f *Follower) followHistory(ctx context.Context, n int, stop func()) {
	t := time.NewTicker(checkEvery)
	defer t.Stop()
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-f.ended:
		}
		var err error
		if stop == nil {
			if stop, err = f.consume(ctx, n); err != nil {
				f.log.Warn("read model: history", "segment", history.SegmentName(n), "err", err)
				continue
			}
		}
		next, err := f.finished(ctx, n)
		if err != nil {
			f.log.Warn("read model: history", "segment", history.SegmentName(n), "err", err)
		}
		if next == 0 {
			continue
		}
		stop()
		stop = nil
		if err := f.enterNext(ctx, next); err != nil {
			f.log.Warn("read model: history", "segment", history.SegmentName(next), "err", err)
			continue // n again, then on to next at a later tick
		}
		n = next
	}
}

// finished returns the segment after n once n is sealed and applied to its
// end, or has expired; 0 while n is not done or is the newest.
func (f *Follower) finished(ctx context.Context, n int) (int, error) {
	segs, err := f.segments(ctx)
	if err != nil {
		return 0, err
	}
	i := slices.IndexFunc(segs, func(s int) bool { return s > n })
	if i < 0 {
		return 0, nil
	}
	if slices.Contains(segs, n) {
		info, err := f.segmentInfo(ctx, n)
		if err != nil {
			return 0, err
		}
		if !info.Config.Sealed || f.store.Position(HistoryPosition) < HistoryAt(n, info.State.LastSeq) {
			return 0, nil
		}
	}
	return segs[i], nil
}

// enterNext moves the store to the start of segment n.
func (f *Follower) enterNext(ctx context.Context, n int) error {
	info, err := f.segmentInfo(ctx, n)
	if err != nil {
		return err
	}
	return f.store.enterSegment(ctx, n, info.Created.UnixNano(), false)
}
