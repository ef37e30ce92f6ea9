package consume

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Options configures a Pool.
type Options struct {
	// Workers is how many messages are handled at once; 0 means 1.
	Workers int
	// Backoff gives the redelivery delay of a failed message; nil means
	// exponential from 1s to 1m.
	Backoff Backoff
	// Logger receives failures; nil discards them.
	Logger *slog.Logger
}

// Pool pulls messages from one consumer and hands each to a handler on up to
// Workers goroutines, then settles it.
type Pool struct {
	cc      jetstream.ConsumeContext
	handler Handler
	opts    Options
	sem     chan struct{}
	wg      sync.WaitGroup
	ctx     context.Context
	cancel  context.CancelFunc

	mu       sync.Mutex
	stopping bool // set before Stop waits: no more handlers start
}

// Validate reports the first invalid option.
func (o Options) Validate() error {
	if o.Workers < 0 {
		return fmt.Errorf("consume: workers must not be negative, not %d", o.Workers)
	}
	return nil
}

// Start begins consuming from cons. It fails when opts is invalid or the
// pull subscription cannot be made. Stop it with Stop.
func Start(cons jetstream.Consumer, h Handler, opts Options) (*Pool, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Workers == 0 {
		opts.Workers = 1
	}
	if opts.Backoff == nil {
		opts.Backoff = ExponentialBackoff(time.Second, time.Minute)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Pool{handler: h, opts: opts, sem: make(chan struct{}, opts.Workers)}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	cc, err := cons.Consume(p.dispatch,
		jetstream.PullMaxMessages(max(2*opts.Workers, 16)),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			opts.Logger.Warn("consume", "err", err)
		}))
	if err != nil {
		p.cancel()
		return nil, fmt.Errorf("consume: %w", err)
	}
	p.cc = cc
	return p, nil
}

// dispatch runs on the subscription's goroutine; it blocks while every
// worker is busy, which stops the client from buffering more than it pulls.
func (p *Pool) dispatch(msg jetstream.Msg) {
	select {
	case p.sem <- struct{}{}:
	case <-p.ctx.Done():
		_ = msg.Nak()
		return
	}
	p.mu.Lock()
	if p.stopping {
		p.mu.Unlock()
		<-p.sem
		_ = msg.Nak()
		return
	}
	p.wg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.wg.Done()
		defer func() { <-p.sem }()
		p.handle(msg)
	}()
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

// Stop stops pulling, lets the messages already pulled finish and waits for
// them. When ctx ends first, it cancels the handlers' context (their messages
// are redelivered later) and returns ctx's error.
func (p *Pool) Stop(ctx context.Context) error {
	p.cc.Drain()
	done := make(chan struct{})
	go func() {
		<-p.cc.Closed()
		p.waitHandlers()
		close(done)
	}()
	select {
	case <-done:
		p.cancel()
		return nil
	case <-ctx.Done():
	}
	// Out of time: cancel the handlers (their messages are redelivered) and
	// wait only for them, not for the subscription's drain.
	p.cancel()
	p.waitHandlers()
	return ctx.Err()
}

// waitHandlers stops new handlers from starting and waits for the running
// ones; a message that arrives after is nak'd for redelivery.
func (p *Pool) waitHandlers() {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	p.wg.Wait()
}
