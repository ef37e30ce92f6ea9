package readmodel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/invoiced/invoiced/internal/infra/history"
	"github.com/nats-io/nats.go/jetstream"
)

// Streams is what the Follower reads the history with;
// jetstream.JetStream is one.
type Streams = history.Source

// LiveRecords watches the bucket of live deliveries; jetstream.KeyValue is
// one.
type LiveRecords interface {
	WatchAll(ctx context.Context, opts ...jetstream.WatchOpt) (jetstream.KeyWatcher, error)
}

// maxBatch bounds the messages applied in one transaction.
const maxBatch = 2000

// While messages keep arriving, the writer gathers them into one
// transaction until commitEvery has passed since its last commit, none has
// arrived for quietFor, or a reader waits for the store. Each commit
// rewrites every page it touched, the newest page of each index among them,
// so under load fewer, larger commits write a fraction of the bytes. A
// message arriving later than commitEvery after the last commit is applied
// at once.
var (
	commitEvery = 50 * time.Millisecond
	quietFor    = 5 * time.Millisecond
)

// checkEvery is how often an idle Follower confirms it has everything.
const checkEvery = time.Second

// Follower keeps a Store up to date: it applies the history, segment by
// segment, from the message after the store's position, and every version
// of the live delivery records, in batches of one transaction each.
type Follower struct {
	store   *Store
	streams Streams
	log     *slog.Logger
	skips   *history.Skips
	in      chan item
	target  uint64 // the history's end when following began, as HistoryAt packs it
	newest  atomic.Pointer[newestSeen]
	ended   chan struct{} // signalled when a segment's last message is applied

	caughtUpAt atomic.Int64 // unix nanos: everything stored by then is applied
	liveLoaded atomic.Bool
	stopOnce   sync.Once
	stops      []func()
	quit       chan struct{}  // closed when stopping
	done       chan struct{}  // closed when the writer has returned
	loops      sync.WaitGroup // the history's follower and the check
	cancel     context.CancelFunc
}

// item is one message for the writer, or the mark that the live records'
// initial values are all in.
type item struct {
	change
	pending    uint64    // messages of its segment after this one
	received   time.Time // when it arrived
	liveLoaded bool
}

// Follow starts applying the history and the live delivery records to s and
// returns the Follower; Stop ends it. log receives, once each, the messages
// passed over as none of ours (Skipped counts them); nil discards them. It
// fails when the history or the bucket cannot be read.
func (s *Store) Follow(ctx context.Context, streams Streams, live LiveRecords, log *slog.Logger) (*Follower, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &Follower{store: s, streams: streams, log: log, skips: history.NewSkips("read model", log), in: make(chan item, 4096),
		ended: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	asked := time.Now()
	segment, err := f.enter(ctx)
	if err != nil {
		return nil, err
	}
	newest, err := f.newestEnd(ctx)
	if err != nil {
		return nil, err
	}
	f.target = newest
	if s.Position(HistoryPosition) >= f.target {
		f.advanceMark(asked)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	go f.write(runCtx)
	stop, err := f.consume(ctx, segment)
	if err != nil {
		f.Stop()
		return nil, err
	}
	f.loops.Go(func() { f.followHistory(runCtx, segment, stop) })
	if err := f.followLive(runCtx, live); err != nil {
		f.Stop()
		return nil, err
	}
	f.loops.Go(func() { f.check(runCtx) })
	return f, nil
}

// send hands it to the writer, unless the Follower is stopping.
func (f *Follower) send(it item) {
	select {
	case f.in <- it:
	case <-f.quit:
	}
}

// followLive watches the live delivery records, until ctx ends: their
// current values, then every change. Deletions are not applied: a record
// leaves the bucket once it is settled, and its settled version reaches the
// store by the history.
func (f *Follower) followLive(ctx context.Context, live LiveRecords) error {
	w, err := live.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("read model: watch live deliveries: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for entry := range w.Updates() {
			if entry == nil {
				f.send(item{liveLoaded: true})
				continue
			}
			if entry.Operation() == jetstream.KeyValuePut {
				f.send(item{change: change{data: entry.Value(), key: entry.Key(), rev: entry.Revision()}})
			}
		}
	}()
	f.stops = append(f.stops, func() {
		_ = w.Stop()
		<-done
	})
	return nil
}

// write applies what arrives, as many messages a transaction as are
// waiting or gathered (see commitEvery), until the Follower stops.
func (f *Follower) write(ctx context.Context) {
	defer close(f.done)
	batch := make([]item, 0, maxBatch)
	var committed time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case it := <-f.in:
			batch = append(batch[:0], it)
		}
		if left := commitEvery - time.Since(committed); left > 0 {
			if batch = f.gather(ctx, batch, left); ctx.Err() != nil {
				return
			}
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case it := <-f.in:
				batch = append(batch, it)
			default:
				break drain
			}
		}
		f.applyBatch(ctx, batch)
		committed = time.Now()
	}
}

// gather adds to batch what arrives, up to maxBatch, and returns it after
// left, after quietFor without a message, or as soon as a reader waits.
func (f *Follower) gather(ctx context.Context, batch []item, left time.Duration) []item {
	end := time.NewTimer(left)
	defer end.Stop()
	quiet := time.NewTimer(quietFor)
	defer quiet.Stop()
	for len(batch) < maxBatch && !f.store.awaited() {
		select {
		case it := <-f.in:
			batch = append(batch, it)
			quiet.Reset(quietFor)
		case <-f.store.wanted:
			return batch
		case <-quiet.C:
			return batch
		case <-end.C:
			return batch
		case <-ctx.Done():
			return batch
		}
	}
	return batch
}

// applyBatch applies batch, trying again while the database cannot be
// written, and then moves the positions and the catch-up mark.
func (f *Follower) applyBatch(ctx context.Context, batch []item) {
	changes := make([]change, 0, len(batch))
	loaded := false
	for _, it := range batch {
		if it.liveLoaded {
			loaded = true
			continue
		}
		changes = append(changes, it.change)
	}
	for pause := 100 * time.Millisecond; ; pause = min(2*pause, 5*time.Second) {
		moved, skips, err := f.store.apply(ctx, changes)
		if err == nil {
			for _, s := range skips {
				f.skips.Skip(s)
			}
			f.store.advance(moved)
			break
		}
		f.log.Error("read model: not written; trying again", "err", err, "retry_in", pause)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
	}
	f.markCaughtUp(batch)
	if slices.ContainsFunc(batch, f.endsOlderSegment) {
		select {
		case f.ended <- struct{}{}:
		default:
		}
	}
	if loaded {
		f.liveLoaded.Store(true)
	}
}

// endsOlderSegment reports whether it is the last message of a segment
// that is not the newest, after which the follower moves on.
func (f *Follower) endsOlderSegment(it item) bool {
	seen := f.newest.Load()
	return it.historySeq > 0 && it.pending == 0 && seen != nil && it.segment < seen.segment
}

// markCaughtUp moves the catch-up mark after batch is applied: to when the
// history stored its last history message, since everything stored before
// is applied too; or, when its segment held nothing after it, to when it
// arrived, but no later than when a listing last found that segment the
// newest (a newer one could hold messages stored since).
func (f *Follower) markCaughtUp(batch []item) {
	for i := len(batch) - 1; i >= 0; i-- {
		it := batch[i]
		if it.historySeq == 0 {
			continue
		}
		at := it.change.stored
		if seen := f.newest.Load(); it.pending == 0 && seen != nil && it.segment >= seen.segment {
			at = it.received
			if seen.asked.Before(at) {
				at = seen.asked
			}
		}
		f.advanceMark(at)
		return
	}
}

func (f *Follower) advanceMark(at time.Time) {
	for {
		old := f.caughtUpAt.Load()
		if at.UnixNano() <= old || f.caughtUpAt.CompareAndSwap(old, at.UnixNano()) {
			return
		}
	}
}

// check confirms, while the history is quiet, that everything it holds is
// applied, so the catch-up mark keeps up with the clock, and then passes
// what INVOICES holds beyond it that the history never copies.
func (f *Follower) check(ctx context.Context) {
	t := time.NewTicker(checkEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		asked := time.Now()
		endCtx, cancel := context.WithTimeout(ctx, checkEvery)
		end, err := f.newestEnd(endCtx)
		if err == nil && f.store.Position(HistoryPosition) >= end {
			f.advanceMark(asked)
			f.passUncopied(endCtx)
		}
		cancel()
	}
}

// Skipped returns how many messages the Follower has passed over as none
// of ours: not an event or delivery record, an invalid one, or one on a
// subject that does not parse.
func (f *Follower) Skipped() uint64 { return f.skips.Count() }

// Behind returns how long ago the store last had everything the history
// held: every message the history stored earlier than that long ago is
// applied.
func (f *Follower) Behind() time.Duration {
	at := f.caughtUpAt.Load()
	if at == 0 {
		return time.Duration(1<<63 - 1)
	}
	return time.Since(time.Unix(0, at))
}

// Ready returns nil once the store holds everything the history held when
// following began and the live records' values then, and otherwise says
// how far it is.
func (f *Follower) Ready() error {
	if at := f.store.Position(HistoryPosition); at < f.target {
		n, seq := splitHistoryAt(at)
		tn, tseq := splitHistoryAt(f.target)
		return fmt.Errorf("read model at message %d of %s, following up to %d of %s",
			seq, history.SegmentName(n), tseq, history.SegmentName(tn))
	}
	if !f.liveLoaded.Load() {
		return errors.New("read model loading the live deliveries")
	}
	return nil
}

// Stop stops following and returns once the last batch is written and
// nothing of the Follower runs any more.
func (f *Follower) Stop() {
	f.stopOnce.Do(func() {
		close(f.quit)
		for _, stop := range f.stops {
			stop()
		}
		f.cancel()
		f.loops.Wait()
		<-f.done
	})
}
