package api

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/jserr"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Publisher publishes one message to JetStream; jetstream.JetStream is one.
type Publisher interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

// StreamReader reads single messages of the INVOICES stream;
// jetstream.Stream is one.
type StreamReader interface {
	GetMsg(ctx context.Context, seq uint64, opts ...jetstream.GetMsgOpt) (*jetstream.RawStreamMsg, error)
	GetLastMsgForSubject(ctx context.Context, subject string) (*jetstream.RawStreamMsg, error)
}

// endpointCreateInvoice scopes idempotency keys to the endpoint.
const endpointCreateInvoice = "POST /invoices"

// inFlightWait bounds how long a retry waits for the original request's
// event to become readable before answering 409.
const inFlightWait = time.Second

// publishAttempt bounds one publish attempt. A publish in flight when its
// stream's leader is lost is never answered; it is tried again, for as long
// as the request may take, rather than waited for until the request times
// out.
const publishAttempt = 2 * time.Second

// Ledger keeps invoices as events on the INVOICES stream.
//
// Creating an invoice is one publish of InvoiceRequested to
// invoices.<id>.requested, where the ID is derived from the scoped
// idempotency key, with Nats-Msg-Id and Nats-Expected-Last-Subject-Sequence
// 0. The subject can hold one message only, so the stream itself is the
// unique constraint on the key, for as long as the invoice exists; a
// duplicate is answered from the stored event.
type Ledger struct {
	pub     Publisher
	reader  StreamReader
	now     func() time.Time
	attempt time.Duration // publishAttempt, shorter in tests
}

// NewLedger returns a ledger that publishes with pub and reads with reader.
func NewLedger(pub Publisher, reader StreamReader) *Ledger {
	return &Ledger{pub: pub, reader: reader, now: time.Now, attempt: publishAttempt}
}

// Create stores a new invoice for req, or finds the one an earlier request
// with the same caller and key created. It returns the invoice as first
// created and whether it existed before. It fails with ErrKeyReused when the
// key was used for a different request, ErrInFlight when the original is not
// yet readable, and ErrUnavailable when JetStream cannot be reached in time;
// in each case nothing was written.
func (l *Ledger) Create(ctx context.Context, caller, key string, req invoiceRequest) (events.Invoice, bool, error) {
	hash := req.hash()
	inv := events.Invoice{
		ID:          events.InvoiceID(caller, endpointCreateInvoice, key),
		CustomerID:  req.CustomerID,
		AmountCents: req.AmountCents,
		Currency:    req.Currency,
		Description: req.Description,
		Metadata:    req.Metadata,
		CreatedAt:   l.now().UTC().Truncate(time.Microsecond),
	}
	ev := events.NewRequested(inv, events.Idempotency{
		Caller: caller, Endpoint: endpointCreateInvoice, Key: key, RequestHash: hash,
	})
	data, err := events.Encode(ev)
	if err != nil {
		return events.Invoice{}, false, err
	}
	msg := &nats.Msg{Subject: ev.Subject(), Data: data}
	if id := RequestID(ctx); id != "" {
		msg.Header = nats.Header{events.HeaderRequestID: []string{id}}
	}
	ack, retried, err := l.publish(ctx, msg, jetstream.WithMsgID(ev.ID), jetstream.WithExpectLastSequencePerSubject(0))
	switch {
	case err == nil && !ack.Duplicate:
		return ev.Invoice, false, nil
	case err == nil, jserr.IsWrongLastSequence(err), jserr.IsConcurrentPublish(err):
		orig, existed, err := l.replay(ctx, ev.Subject(), hash)
		// An attempt that went unanswered may have stored this very
		// event: then the invoice is new, not replayed.
		if err == nil && retried && orig.CreatedAt.Equal(ev.Invoice.CreatedAt) {
			existed = false
		}
		return orig, existed, err
	default:
		return events.Invoice{}, false, unavailable("store invoice", err)
	}
}

// publish publishes msg, trying again after an attempt that got no answer
// within l.attempt, for as long as ctx allows; it reports whether it tried
// more than once. Trying again is safe: the message ID and the expected
// subject sequence let a message be stored once only, and an attempt that
// finds it stored is answered as a duplicate.
func (l *Ledger) publish(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, bool, error) {
	pause := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, l.attempt)
		ack, err := l.pub.PublishMsg(actx, msg, opts...)
		cancel()
		if err == nil || ctx.Err() != nil || !unanswered(err) {
			return ack, attempt > 1, err
		}
		select {
		case <-ctx.Done():
			return nil, true, err
		case <-time.After(pause):
			pause = min(2*pause, time.Second)
		}
	}
}

// unanswered reports whether a publish failed for want of an answer, as it
// does while a stream elects a new leader, rather than for a reason a retry
// cannot change.
func unanswered(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse)
}

// replay answers a repeated key from the stored InvoiceRequested event.
func (l *Ledger) replay(ctx context.Context, subject, hash string) (events.Invoice, bool, error) {
	msg, err := l.awaitMsg(ctx, subject)
	if err != nil {
		return events.Invoice{}, false, err
	}
	orig, err := events.DecodeMsg(msg.Subject, msg.Data)
	if err != nil {
		return events.Invoice{}, false, fmt.Errorf("stored event %d: %w", msg.Sequence, err)
	}
	if orig.Idempotency.RequestHash != hash {
		return events.Invoice{}, false, fmt.Errorf("%w: invoice %s was created by a request with other parameters", ErrKeyReused, orig.Invoice.ID)
	}
	return orig.Invoice, true, nil
}

// awaitMsg reads the newest message under subject, waiting a little when
// JetStream has reported it as a duplicate before it is readable.
func (l *Ledger) awaitMsg(ctx context.Context, subject string) (*jetstream.RawStreamMsg, error) {
	deadline := time.Now().Add(inFlightWait)
	pause := 5 * time.Millisecond
	for {
		msg, err := l.reader.GetLastMsgForSubject(ctx, subject)
		switch {
		case err == nil:
			return msg, nil
		case !errors.Is(err, jetstream.ErrMsgNotFound):
			return nil, unavailable("read stored invoice", err)
		case time.Now().Add(pause).After(deadline):
			return nil, withRetryAfter(fmt.Errorf("%w: retry shortly", ErrInFlight), time.Second)
		}
		select {
		case <-ctx.Done():
			return nil, unavailable("read stored invoice", ctx.Err())
		case <-time.After(pause):
			pause *= 2
		}
	}
}

// Get returns the current state of invoice id: its newest event. It fails
// with ErrNotFound when there is no such invoice and ErrUnavailable when
// JetStream cannot be reached.
func (l *Ledger) Get(ctx context.Context, id string) (events.Invoice, error) {
	msg, err := l.reader.GetLastMsgForSubject(ctx, events.InvoiceSubjects(id))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return events.Invoice{}, fmt.Errorf("%w: no invoice %s", ErrNotFound, id)
	}
	return decodeRead(msg, err)
}

// Load returns the invoice state recorded by the event at stream sequence
// seq. It fails with ErrNotFound when the message is gone.
func (l *Ledger) Load(ctx context.Context, seq uint64) (events.Invoice, error) {
	msg, err := l.reader.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return events.Invoice{}, fmt.Errorf("%w: no event %d", ErrNotFound, seq)
	}
	return decodeRead(msg, err)
}

func decodeRead(msg *jetstream.RawStreamMsg, err error) (events.Invoice, error) {
	if err != nil {
		return events.Invoice{}, unavailable("read invoice", err)
	}
	ev, err := events.DecodeMsg(msg.Subject, msg.Data)
	if err != nil {
		return events.Invoice{}, fmt.Errorf("stored event %d: %w", msg.Sequence, err)
	}
	return ev.Invoice, nil
}

// unavailable wraps a JetStream failure as ErrUnavailable.
func unavailable(what string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, what, err)
}
