package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/history"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Compaction keeps INVOICES and WEBHOOKS small: it removes, from the front,
// what every consumer has handled and the history has copied, so their
// per-message subjects (which JetStream indexes in memory) live only while
// the pipeline needs them. Removal follows stream order: an invoice's
// request is gone before its outcome, a task before its settled record.
// What outlives the messages around it (a failing delivery's retry, its
// live record) is rolled forward (roll.go).
type Compaction struct {
	// Every is how often the streams are compacted; 0 means 1 second.
	Every time.Duration
	// InvoicesEvery is how often INVOICES is compacted when started, at
	// least Every; 0 means 5 seconds. Each purge makes JetStream rewrite
	// its index of every subject the stream holds while new events wait,
	// a cost that depends on how much it holds rather than on how much
	// goes, so INVOICES is purged in fewer, larger steps.
	InvoicesEvery time.Duration
	// InvoicesAfter is the least time an event stays on INVOICES after the
	// history has copied it, so a request racing the first one with the
	// same key still finds it by subject (see docs/ARCHITECTURE.md); 0
	// means 30 seconds.
	InvoicesAfter time.Duration
	// TasksAfter is the least time a task or settled record stays on
	// WEBHOOKS, well past the moment its consumer's ack reaches the disk;
	// 0 means 5 seconds.
	TasksAfter time.Duration
	// RollAfter is how many interior deletes WEBHOOKS or the live delivery
	// records may have before their oldest survivors are rolled forward
	// (see roll.go); 0 means 100,000.
	RollAfter uint64
	// Streams are the streams' settings, by which each compaction also
	// keeps the history's segments (Streams.KeepHistory).
	Streams Streams
	// Processor and FanOut are the durable consumers of INVOICES, Delivery
	// the one of WEBHOOKS. While one of them is missing its stream is not
	// compacted.
	Processor, FanOut, Delivery string
	// Logger receives failures; nil discards them.
	Logger *slog.Logger
}

func (c Compaction) withDefaults() Compaction {
	if c.Every <= 0 {
		c.Every = time.Second
	}
	if c.InvoicesEvery <= 0 {
		c.InvoicesEvery = 5 * time.Second
	}
	c.InvoicesEvery = max(c.InvoicesEvery, c.Every)
	if c.InvoicesAfter <= 0 {
		c.InvoicesAfter = 30 * time.Second
	}
	if c.TasksAfter <= 0 {
		c.TasksAfter = 5 * time.Second
	}
	if c.RollAfter == 0 {
		c.RollAfter = 100_000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// CompactionJS is what compaction needs of a JetStream context;
// jetstream.JetStream is one.
type CompactionJS interface {
	HistoryManager
	Consumer(ctx context.Context, stream, consumer string) (jetstream.Consumer, error)
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

// sample is the state of the streams at one moment, read in this order:
// WEBHOOKS, INVOICES, then how far the history holds INVOICES.
type sample struct {
	at           time.Time
	webhooksLast uint64
	invoicesLast uint64
	copied       uint64 // the first sequence of INVOICES the history may not hold
}

// Compactor compacts the streams. Compact is not safe for concurrent use.
type Compactor struct {
	cfg     Compaction
	js      CompactionJS
	samples []sample
	purged  map[string]uint64 // filter → the sequence purged below
	rolled  map[string]uint64 // stream → the sequence rolled forward below
	stop    context.CancelFunc
	done    chan struct{}
	once    sync.Once
}

// NewCompactor returns a compactor of the streams of js, as cfg says; Start
// runs it, or Compact compacts once.
func NewCompactor(js CompactionJS, cfg Compaction) *Compactor {
	return &Compactor{cfg: cfg.withDefaults(), js: js, purged: map[string]uint64{}, rolled: map[string]uint64{}}
}

// StartCompactor starts compacting with js as cfg says, until Stop.
func StartCompactor(js CompactionJS, cfg Compaction) *Compactor {
	c := NewCompactor(js, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	c.stop, c.done = cancel, make(chan struct{})
	go c.run(ctx)
	return c
}

// Stop stops compacting and returns once a compaction under way is done.
func (c *Compactor) Stop() {
	c.once.Do(func() {
		if c.stop != nil {
			c.stop()
			<-c.done
		}
	})
}

func (c *Compactor) run(ctx context.Context) {
	defer close(c.done)
	t := time.NewTicker(c.cfg.Every)
	defer t.Stop()
	var invoicesAt time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Half a tick of slack: ticks arrive a little early or late, and
		// INVOICES's turn should not slip to the tick after.
		invoices := time.Since(invoicesAt) >= c.cfg.InvoicesEvery-c.cfg.Every/2
		if invoices {
			invoicesAt = time.Now()
		}
		tick, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := c.compact(tick, invoices); err != nil && ctx.Err() == nil {
			c.cfg.Logger.Warn("compaction", "err", err)
		}
		cancel()
	}
}

// Compact keeps the history's segments, compacts both streams once, and
// rolls their survivors forward when they need it. It fails when a stream or consumer cannot be read or
// written; what it did by then stays done.
func (c *Compactor) Compact(ctx context.Context) error {
	return c.compact(ctx, true)
}

// compact is Compact, which leaves INVOICES as it is unless invoices.
func (c *Compactor) compact(ctx context.Context, invoices bool) error {
	now := time.Now()
	webhooks, err := c.js.Stream(ctx, webhook.StreamWebhooks)
	if err != nil {
		return err
	}
	wInfo, err := webhooks.Info(ctx)
	if err != nil {
		return err
	}
	invoicesStream, err := c.js.Stream(ctx, events.StreamInvoices)
	if err != nil {
		return err
	}
	iInfo, err := invoicesStream.Info(ctx)
	if err != nil {
		return err
	}
	s := sample{webhooksLast: wInfo.State.LastSeq, invoicesLast: iInfo.State.LastSeq}
	if _, err := c.cfg.Streams.KeepHistory(ctx, c.js, now); err != nil {
		// Another process may have just sealed the newest segment: the
		// next tick goes on from there, and compaction needs only what
		// the history stored.
		c.cfg.Logger.Warn("history segments", "err", err)
	}
	copied, err := history.Copied(ctx, c.js, history.Invoices)
	if err != nil {
		return err
	}
	copiedDone, err := history.Copied(ctx, c.js, history.Deliveries)
	if err != nil {
		return err
	}
	// Stamped once all is read, as each value held by then at the latest.
	s.at, s.copied = time.Now(), copied+1
	floors := map[string]uint64{}
	for _, f := range []struct{ key, stream, name string }{
		{"processor", events.StreamInvoices, c.cfg.Processor},
		{"fan-out", events.StreamInvoices, c.cfg.FanOut},
		{"delivery", webhook.StreamWebhooks, c.cfg.Delivery},
	} {
		if floors[f.key], err = c.floor(ctx, f.stream, f.name); err != nil {
			return err
		}
	}
	c.record(s)
	if invoices {
		floor := min(floors["processor"], floors["fan-out"], c.before(now.Add(-c.cfg.InvoicesAfter)).copied)
		if err := c.purge(ctx, invoicesStream, "", floor); err != nil {
			return err
		}
	}
	tasksFloor := min(floors["delivery"], c.tasksSafe(floors["fan-out"]), c.before(now.Add(-c.cfg.TasksAfter)).webhooksLast+1)
	for _, filter := range webhook.TaskFilters {
		if err := c.purge(ctx, webhooks, filter, tasksFloor); err != nil {
			return err
		}
	}
	if err := c.purge(ctx, webhooks, webhook.AllDone, min(tasksFloor, copiedDone+1)); err != nil {
		return err
	}
	return c.rollAll(ctx)
}

// floor returns the first sequence of stream that consumer name may still
// need: the one after its ack floor. Only the ack floor is trusted: it is
// replicated with the consumer and never runs ahead, while the pending
// counts of a consumer whose leader just moved can read 0 before they are
// known. A missing consumer needs everything.
func (c *Compactor) floor(ctx context.Context, stream, name string) (uint64, error) {
	info, err := c.consumerInfo(ctx, stream, name)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("consumer %s of %s: %w", name, stream, err)
	}
	return info.AckFloor.Stream + 1, nil
}

// consumerInfo reads one consumer's info.
func (c *Compactor) consumerInfo(ctx context.Context, stream, name string) (*jetstream.ConsumerInfo, error) {
	cons, err := c.js.Consumer(ctx, stream, name)
	if err != nil {
		return nil, err
	}
	return cons.Info(ctx)
}

// tasksSafe returns the first WEBHOOKS sequence that a fan-out not yet
// acknowledged may have published: a task outlives the event it came from,
// so a fan-out repeated after a crash finds it. Every task at or below a
// sample's webhooksLast came from an event at or below its invoicesLast,
// which was read after it.
func (c *Compactor) tasksSafe(fanOutFloor uint64) uint64 {
	safe := uint64(0)
	for _, s := range c.samples {
		if s.invoicesLast < fanOutFloor {
			safe = s.webhooksLast
		}
	}
	return safe + 1
}

// record keeps s and drops the samples no floor can use any more: all but
// the newest one older than twice the longest wait.
func (c *Compactor) record(s sample) {
	c.samples = append(c.samples, s)
	horizon := s.at.Add(-2 * max(c.cfg.InvoicesAfter, c.cfg.TasksAfter))
	keep := 0
	for keep+1 < len(c.samples) && c.samples[keep+1].at.Before(horizon) {
		keep++
	}
	c.samples = c.samples[keep:]
}

// before returns the newest sample taken at or before t, or an empty one.
func (c *Compactor) before(t time.Time) sample {
	var found sample
	for _, s := range c.samples {
		if s.at.After(t) {
			break
		}
		found = s
	}
	return found
}

// purge removes the messages of st below seq that match filter ("" for
// all), unless that was done already.
func (c *Compactor) purge(ctx context.Context, st jetstream.Stream, filter string, seq uint64) error {
	key := st.CachedInfo().Config.Name + " " + filter
	if seq <= 1 || seq <= c.purged[key] {
		return nil
	}
	opts := []jetstream.StreamPurgeOpt{jetstream.WithPurgeSequence(seq)}
	if filter != "" {
		opts = append(opts, jetstream.WithPurgeSubject(filter))
	}
	if err := st.Purge(ctx, opts...); err != nil {
		return fmt.Errorf("compact %s: %w", key, err)
	}
	c.purged[key] = seq
	return nil
}
