package consume

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Options configures a Pool.
type Options struct {
	// Workers is how many messages are handled at once; 0 means 1.
	Workers int
	// Backoff gives the redelivery delay of a failed message; nil means
	// exponential from 1s to 1m.
	Backoff Backoff
	// PullWait is how long one pull waits for messages; 0 means 1s. Stop
	// lets a pull under way run its course rather than abandon it (the
	// messages already on their way would be dropped and wait out their
	// ack wait), so it is also the longest Stop waits for an idle pool.
	PullWait time.Duration
	// Logger receives failures; nil discards them.
	Logger *slog.Logger
}

// Validate reports the first invalid option.
func (o Options) Validate() error {
	if o.Workers < 0 || o.PullWait < 0 {
		return fmt.Errorf("consume: workers and pull wait must not be negative, not %d and %s", o.Workers, o.PullWait)
	}
	return nil
}

// Pool hands the messages of one consumer to a handler on up to Workers
// goroutines, then settles each. It pulls only as many messages as it has
// free workers, so a busy process holds no message another process could
// be handling, and no message waits in a buffer while its ack timer runs.
type Pool struct {
	cons    jetstream.Consumer
	handler Handler
	opts    Options
	slots   chan struct{}      // one token per busy worker
	idle    chan jetstream.Msg // to a worker waiting for its next message
	workers sync.WaitGroup
	pulled  chan struct{} // closed when the pull loop has ended

	stopping chan struct{} // closed by Stop: start no more pulls
	stopOnce sync.Once

	ctx      context.Context // the handlers'; cancelled only on a hard stop
	cancel   context.CancelFunc
	stopPull context.CancelFunc // abandons a pull under way: a hard stop
	pullCtx  context.Context
}

// Start begins consuming from cons. It fails when opts is invalid. Stop it
// with Stop.
func Start(cons jetstream.Consumer, h Handler, opts Options) (*Pool, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Workers == 0 {
		opts.Workers = 1
	}
	if opts.PullWait == 0 {
		opts.PullWait = time.Second
	}
	if opts.Backoff == nil {
		opts.Backoff = ExponentialBackoff(time.Second, time.Minute)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Pool{cons: cons, handler: h, opts: opts, slots: make(chan struct{}, opts.Workers),
		idle: make(chan jetstream.Msg), pulled: make(chan struct{}), stopping: make(chan struct{})}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.pullCtx, p.stopPull = context.WithCancel(context.Background())
	go p.pullLoop()
	return p, nil
}

// pullLoop waits for a free worker, then pulls as many messages as there
// are free workers, until Stop.
func (p *Pool) pullLoop() {
	defer close(p.pulled)
	failures := 0
	for {
		select {
		case p.slots <- struct{}{}:
		case <-p.stopping:
			return
		}
		n := 1 + p.takeFreeSlots()
		got, err := p.pull(n)
		for range n - got {
			<-p.slots
		}
		switch {
		case p.stopped():
			return
		case err != nil:
			failures++
			p.opts.Logger.Warn("pull", "err", err)
			p.pause(min(time.Duration(failures)*250*time.Millisecond, 5*time.Second))
		default:
			failures = 0
		}
	}
}

// takeFreeSlots reserves every other free worker without waiting and says
// how many.
func (p *Pool) takeFreeSlots() int {
	n := 0
	for {
		select {
		case p.slots <- struct{}{}:
			n++
		default:
			return n
		}
	}
}

// pull fetches up to n messages, starting a handler for each as it arrives,
// and returns how many came.
func (p *Pool) pull(n int) (int, error) {
	ctx, cancel := context.WithTimeout(p.pullCtx, p.opts.PullWait)
	defer cancel()
	batch, err := p.cons.Fetch(n, jetstream.FetchContext(ctx))
	if err != nil {
		return 0, err
	}
	got := 0
	for msg := range batch.Messages() {
		got++
		p.dispatch(msg)
	}
	err = batch.Error()
	if errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		err = nil
	}
	return got, err
}

func (p *Pool) pause(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-p.stopping:
	}
}

// stopped reports whether Stop has been called.
func (p *Pool) stopped() bool {
	select {
	case <-p.stopping:
		return true
	default:
		return false
	}
}

// workerIdle is how long a worker waits for its next message before it
// ends. Workers are kept while busy because a new goroutine grows its stack
// again for every message, which cost about 4% of the CPU under load.
const workerIdle = 5 * time.Second

// dispatch hands msg to a waiting worker, or to a new one when none waits.
func (p *Pool) dispatch(msg jetstream.Msg) {
	select {
	case p.idle <- msg:
	default:
		p.workers.Add(1)
		go p.work(msg)
	}
}

// work handles msg and then each message it is handed, until it has waited
// workerIdle for one or the pool stops.
func (p *Pool) work(msg jetstream.Msg) {
	defer p.workers.Done()
	wait := time.NewTimer(workerIdle)
	defer wait.Stop()
	for {
		p.handle(msg)
		<-p.slots
		wait.Reset(workerIdle)
		select {
		case msg = <-p.idle:
		case <-wait.C:
			return
		case <-p.stopping:
			return
		}
	}
}

func (p *Pool) handle(msg jetstream.Msg) {
	err := p.call(msg)
	outcome, ackErr := Settle(msg, err, p.opts.Backoff)
	switch {
	case ackErr != nil:
		p.opts.Logger.Warn("settle message", "subject", msg.Subject(), "err", ackErr)
	case outcome == Terminated:
		p.opts.Logger.Error("message dropped: it can never succeed", "subject", msg.Subject(), "err", err)
	case outcome == Retried:
		p.opts.Logger.Warn("message will be retried", "subject", msg.Subject(), "err", err)
	}
}

// call runs the handler, turning a panic into a transient error so the
// message is redelivered rather than lost.
func (p *Pool) call(msg jetstream.Msg) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panic: %v", r)
		}
	}()
	return p.handler(p.ctx, msg)
}

// Stop stops pulling, lets the messages in hand finish and waits for them.
// A pull under way runs its course first (at most PullWait) and its
// messages are handled too, so none is dropped to wait out its ack wait.
// When ctx ends first, it abandons the pull, cancels the handlers' context
// (their messages are redelivered later), waits for them to return and
// returns ctx's error.
func (p *Pool) Stop(ctx context.Context) error {
	p.stopOnce.Do(func() { close(p.stopping) })
	select {
	case <-p.pulled:
	case <-ctx.Done():
		p.stopPull()
		<-p.pulled
	}
	defer p.stopPull()
	done := make(chan struct{})
	go func() {
		p.workers.Wait()
		close(done)
	}()
	select {
	case <-done:
		p.cancel()
		return nil
	case <-ctx.Done():
	}
	p.cancel()
	<-done
	return ctx.Err()
}
