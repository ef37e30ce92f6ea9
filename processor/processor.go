// Package processor turns requested invoices into processed or failed ones.
//
// It reads InvoiceRequested events from a durable JetStream consumer shared
// by every processor process, decides each invoice's outcome and publishes
// exactly one InvoiceProcessed or InvoiceFailed event for it. The outcome is
// published with Nats-Msg-Id set to the outcome's derived event ID and with
// Nats-Expected-Last-Subject-Sequence on invoices.<id>.* set to the
// requested event's sequence, so a redelivered request (after a crash
// between publish and ack) can never store a second outcome, however long
// after the first: the server refuses it, and the processor treats that
// refusal as success.
package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/infra/consume"
	"github.com/invoiced/invoiced/internal/infra/invoicestream"
	"github.com/invoiced/invoiced/internal/infra/jserr"
	"github.com/invoiced/invoiced/internal/infra/tracing"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// ConsumerName is the durable consumer every processor process shares.
const ConsumerName = "processor"

// errNoOutcomeYet is a refused outcome publish whose invoice, as far as
// JetStream can tell yet, has no outcome: the request is tried again.
var errNoOutcomeYet = errors.New("refused, yet no outcome is stored")

// Config holds the processor's options.
type Config struct {
	// Workers is how many invoices one process handles at once; 0 means 32.
	Workers int
	// MaxAmountCents is the largest amount processed; a larger invoice fails
	// with events.ReasonAmountExceedsLimit. 0 means 100,000,000.
	MaxAmountCents int64
	// Delay is simulated work per invoice.
	Delay time.Duration
	// AckWait is how long JetStream waits for an ack before redelivering;
	// 0 means 30s, and it is raised to at least twice Delay.
	AckWait time.Duration
	// Logger receives failures; nil discards them.
	Logger *slog.Logger
	// Now gives the processing time; nil means time.Now.
	Now func() time.Time
	// Tracer makes the span of each invoice's processing, continuing the
	// trace its request carries; nil exports nothing.
	Tracer trace.Tracer
}

// DefaultMaxAmountCents is the default of Config.MaxAmountCents.
const DefaultMaxAmountCents = 100_000_000

// Validate reports the first invalid option.
func (c Config) Validate() error {
	switch {
	case c.Workers < 0:
		return fmt.Errorf("processor: workers must not be negative, not %d", c.Workers)
	case c.MaxAmountCents < 0:
		return fmt.Errorf("processor: max amount must not be negative, not %d", c.MaxAmountCents)
	case c.Delay < 0:
		return fmt.Errorf("processor: delay must not be negative, not %s", c.Delay)
	case c.AckWait < 0:
		return fmt.Errorf("processor: ack wait must not be negative, not %s", c.AckWait)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Workers == 0 {
		c.Workers = 32
	}
	if c.MaxAmountCents == 0 {
		c.MaxAmountCents = DefaultMaxAmountCents
	}
	if c.AckWait == 0 {
		c.AckWait = 30 * time.Second
	}
	c.AckWait = max(c.AckWait, 2*c.Delay)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Tracer == nil {
		c.Tracer = tracing.Off().Tracer()
	}
	return c
}

// JetStream is what the processor needs of a JetStream context.
type JetStream interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
	consume.Ensurer
}

// LastReader reads the newest message under a subject; jetstream.Stream is
// one.
type LastReader interface {
	GetLastMsgForSubject(ctx context.Context, subject string) (*jetstream.RawStreamMsg, error)
}

// Processor consumes requested invoices and publishes their outcomes.
type Processor struct {
	js     JetStream
	stream LastReader
	cfg    Config
	pool   *consume.Pool
	// skipped counts the messages terminated as not valid requested
	// events.
	skipped atomic.Uint64

	// Test hooks. work, when set, stands in for the simulated delay;
	// afterPublish runs after an outcome is stored and before the handler
	// returns, so a test can crash between publish and ack.
	work         func(ctx context.Context) error
	afterPublish func()
}

// New returns a processor that publishes with js and reads invoice state
// from stream. It fails when cfg is invalid.
func New(js JetStream, stream LastReader, cfg Config) (*Processor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Processor{js: js, stream: stream, cfg: cfg.withDefaults()}, nil
}

// ConsumerConfig returns the durable consumer the processor reads from.
func (p *Processor) ConsumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:        ConsumerName,
		Description:    "invoiced processor: requested invoices",
		FilterSubjects: events.KindSubjects(events.InvoiceRequested),
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        p.cfg.AckWait,
		MaxDeliver:     -1,
		MaxAckPending:  max(1024, 4*p.cfg.Workers),
	}
}

// Start creates or updates the durable consumer and begins processing. It
// fails when the consumer cannot be created or subscribed to.
func (p *Processor) Start(ctx context.Context) error {
	cons, err := consume.Ensure(ctx, p.js, events.StreamInvoices, p.ConsumerConfig())
	if err != nil {
		return fmt.Errorf("processor: ensure consumer: %w", err)
	}
	pool, err := consume.Start(cons, p.Handle, consume.Options{
		Workers: p.cfg.Workers,
		Logger:  p.cfg.Logger,
		Backoff: consume.ExponentialBackoff(500*time.Millisecond, 30*time.Second),
	})
	if err != nil {
		return fmt.Errorf("processor: %w", err)
	}
	p.pool = pool
	return nil
}

// Skipped returns how many messages the processor has terminated as not
// valid requested events.
func (p *Processor) Skipped() uint64 { return p.skipped.Load() }

// Stop stops pulling and waits for the invoices in hand, or until ctx ends.
func (p *Processor) Stop(ctx context.Context) error {
	if p.pool == nil {
		return nil
	}
	return p.pool.Stop(ctx)
}

// Handle processes one InvoiceRequested message. It returns nil once the
// invoice has its outcome (now or earlier), a permanent error for a message
// that is not a valid requested event, and a transient error when JetStream
// could not be reached.
func (p *Processor) Handle(ctx context.Context, msg jetstream.Msg) error {
	ctx, span := tracing.Consume(ctx, p.cfg.Tracer, "process", msg.Headers())
	err := p.handle(ctx, msg)
	tracing.End(span, err)
	return err
}

// handle is Handle within the invoice's span.
func (p *Processor) handle(ctx context.Context, msg jetstream.Msg) error {
	md, err := msg.Metadata()
	if err != nil {
		return consume.Permanent(fmt.Errorf("metadata: %w", err))
	}
	ev, err := events.DecodeMsg(msg.Subject(), msg.Data())
	if err == nil && ev.Type != events.InvoiceRequested {
		err = fmt.Errorf("processor got %s, wants %s", ev.Type, events.InvoiceRequested)
	}
	if err != nil {
		p.skipped.Add(1)
		return consume.Permanent(err)
	}
	expect := md.Sequence.Stream
	if md.NumDelivered > 1 {
		done, after, err := p.outcome(ctx, ev.Invoice.ID, md.Sequence.Stream)
		if err != nil || done {
			return err
		}
		expect = after
	}
	inv := ev.Invoice
	// A request stored before accounts existed names its account only in
	// its idempotency record, which an outcome does not carry.
	inv.Account = ev.Account()
	out, err := p.decide(ctx, inv)
	if err != nil {
		return err
	}
	requestID := msg.Headers().Get(events.HeaderRequestID)
	if err := p.publish(ctx, out, md.Sequence.Stream, expect, requestID); err != nil {
		return err
	}
	if span := tracing.Recording(ctx); span != nil {
		span.SetAttributes(attribute.String("invoiced.invoice_id", out.Invoice.ID), attribute.String("invoiced.outcome", string(out.Type)))
	}
	p.cfg.Logger.Debug("invoice decided", "request_id", requestID, "invoice", out.Invoice.ID, "outcome", out.Type)
	return nil
}

// outcome reports whether the invoice requested at seq has an outcome, and
// if not, the sequence its outcome must follow: seq, or the newest of what
// was published under the invoice's subjects by hand since (what is not
// an outcome is stepped over, so it holds no invoice back). A message on
// an outcome's subject after seq that does not decode counts as an outcome:
// it may hide a real one, and one outcome too few is mended by hand, one
// too many never. It fails when the stream cannot be read.
func (p *Processor) outcome(ctx context.Context, id string, seq uint64) (bool, uint64, error) {
	last, err := p.stream.GetLastMsgForSubject(ctx, events.InvoiceSubjects(id))
	if err != nil {
		return false, 0, fmt.Errorf("read state of %s: %w", id, err)
	}
	if last.Sequence <= seq {
		return false, seq, nil
	}
	for _, t := range []events.Type{events.InvoiceProcessed, events.InvoiceFailed} {
		msg, err := invoicestream.LastOfType(ctx, p.stream, id, t)
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			continue
		case err != nil:
			return false, 0, fmt.Errorf("read state of %s: %w", id, err)
		case msg.Sequence > seq:
			if _, err := events.DecodeMsg(msg.Subject, msg.Data); err != nil {
				p.skipped.Add(1)
				p.cfg.Logger.Error("an outcome's subject holds what does not decode; the invoice is left as it is",
					"invoice", id, "seq", msg.Sequence, "err", err)
			}
			return true, 0, nil
		}
	}
	p.skipped.Add(1)
	p.cfg.Logger.Warn("stepping over what follows a request and is no outcome", "invoice", id, "seq", last.Sequence, "subject", last.Subject)
	return false, last.Sequence, nil
}

// settled returns nil when the invoice requested at seq has an outcome,
// and errNoOutcomeYet when it has none or JetStream cannot tell yet.
func (p *Processor) settled(ctx context.Context, id string, seq uint64) error {
	done, _, err := p.outcome(ctx, id, seq)
	if err == nil && !done {
		err = errNoOutcomeYet
	}
	return err
}

// decide does the invoice's work and returns its outcome event.
func (p *Processor) decide(ctx context.Context, inv events.Invoice) (events.Event, error) {
	if inv.AmountCents > p.cfg.MaxAmountCents {
		return events.NewFailed(inv, p.cfg.Now(), events.ReasonAmountExceedsLimit), nil
	}
	work := p.work
	if work == nil {
		work = p.simulateWork
	}
	if err := work(ctx); err != nil {
		return events.Event{}, fmt.Errorf("processing %s: %w", inv.ID, err)
	}
	return events.NewProcessed(inv, p.cfg.Now()), nil
}

// simulateWork waits Delay, or until ctx ends.
func (p *Processor) simulateWork(ctx context.Context) error {
	if p.cfg.Delay <= 0 {
		return nil
	}
	t := time.NewTimer(p.cfg.Delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// publish stores the outcome of the invoice requested at requestedSeq
// unless anything was stored under its subjects after expect, carrying on
// the ID of the request that asked for the invoice, if any.
func (p *Processor) publish(ctx context.Context, out events.Event, requestedSeq, expect uint64, requestID string) error {
	data, err := events.Encode(out)
	if err != nil {
		return consume.Permanent(err)
	}
	msg := nats.NewMsg(out.Subject())
	msg.Data = data
	// Conditions travel as headers, so outcomes can share a batch.
	msg.Header.Set(jetstream.MsgIDHeader, out.ID)
	msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(expect, 10))
	msg.Header.Set(jetstream.ExpectedLastSubjSeqSubjHeader, events.InvoiceSubjects(out.Invoice.ID))
	if requestID != "" {
		msg.Header.Set(events.HeaderRequestID, requestID)
	}
	pctx, span := tracing.Publish(ctx, out, msg)
	_, err = p.js.PublishMsg(pctx, msg)
	tracing.End(span, err)
	if jserr.IsWrongLastSequence(err) {
		// Usually another outcome is stored already, but a leader elected
		// a moment ago answers so too while it has yet to apply the
		// requested event: only the invoice's state tells.
		err = p.settled(ctx, out.Invoice.ID, requestedSeq)
	}
	// A concurrent publish on a replicated stream may still fail: retry,
	// and the redelivery reads the invoice's state first.
	if err != nil {
		return fmt.Errorf("publish %s of %s: %w", out.Type, out.Invoice.ID, err)
	}
	if p.afterPublish != nil {
		p.afterPublish()
	}
	return nil
}
