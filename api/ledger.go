package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
	"github.com/invoiced/invoiced/internal/infra/invoicestream"
	"github.com/invoiced/invoiced/internal/infra/jserr"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Publisher publishes one message to JetStream; jetstream.JetStream is one.
type Publisher interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

// StreamReader reads the INVOICES stream: an invoice's newest event, and
// the stream's state; jetstream.Stream is one.
type StreamReader interface {
	GetLastMsgForSubject(ctx context.Context, subject string) (*jetstream.RawStreamMsg, error)
	Info(ctx context.Context, opts ...jetstream.StreamInfoOpt) (*jetstream.StreamInfo, error)
}

// InvoiceModel is the read model of every invoice, including those that
// have left the INVOICES stream; *readmodel.Store is one.
type InvoiceModel interface {
	Invoice(ctx context.Context, id string) (readmodel.Invoice, error)
	Invoices(ctx context.Context, f readmodel.InvoiceFilter, before uint64, limit int) ([]readmodel.Invoice, uint64, error)
	WaitFor(ctx context.Context, stream string, seq uint64) error
}

// Lag says how far the read model trails the history;
// *readmodel.Follower is one.
type Lag interface {
	// Behind returns how long ago the read model last had everything the
	// history held.
	Behind() time.Duration
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

// Ledger keeps invoices as events on the INVOICES stream, and finds those
// that have left it in the read model.
//
// Creating an invoice is one publish of InvoiceRequested to
// invoices.<id>.requested.<account>, where the ID is derived from the
// scoped idempotency key, with Nats-Msg-Id and
// Nats-Expected-Last-Subject-Sequence 0 on invoices.<id>.>. While the
// invoice's events are on the stream they hold one request only, so the
// stream is the unique constraint on the key; once
// they have left it (compaction removes them only after the history has
// copied them and some time has passed), the read model holds the invoice
// and is asked first. Either way a repeat is answered from the stored
// event.
type Ledger struct {
	pub     Publisher
	reader  StreamReader
	model   InvoiceModel
	lag     Lag
	maxLag  time.Duration
	now     func() time.Time
	attempt time.Duration // publishAttempt, shorter in tests
	log     *slog.Logger  // what is passed over; the Invoices' logger
}

// NewLedger returns a ledger that publishes with pub, reads the stream with
// reader and the invoices that have left it with model. While lag says the
// read model trails the history by more than maxLag, a new key is refused
// with ErrUnavailable: an invoice that left the stream so recently might be
// missing from both.
func NewLedger(pub Publisher, reader StreamReader, model InvoiceModel, lag Lag, maxLag time.Duration) *Ledger {
	return &Ledger{pub: pub, reader: reader, model: model, lag: lag, maxLag: maxLag, now: time.Now, attempt: publishAttempt,
		log: slog.New(slog.DiscardHandler)}
}

// Create stores a new invoice for req, or finds the one an earlier request
// with the same account and key created. It returns the invoice as first
// created and whether it existed before. It fails with ErrKeyReused when the
// key was used for a different request, ErrInFlight when the original is not
// yet readable, and ErrUnavailable when JetStream cannot be reached in time;
// in each case nothing was written.
func (l *Ledger) Create(ctx context.Context, account, key string, req invoiceRequest) (events.Invoice, bool, error) {
	ev := requestedEvent(account, key, req, l.now())
	hash := ev.Idempotency.RequestHash
	if orig, found, err := l.modelled(ctx, ev.Invoice.ID); err != nil || found {
		if err != nil {
			return events.Invoice{}, false, err
		}
		return replayed(orig.Requested, hash)
	}
	data, err := events.Encode(ev)
	if err != nil {
		return events.Invoice{}, false, err
	}
	msg := nats.NewMsg(ev.Subject())
	msg.Data = data
	// Conditions travel as headers, so concurrent requests can share a
	// batch (see internal/infra/groupcommit).
	msg.Header.Set(jetstream.MsgIDHeader, ev.ID)
	// No event of the invoice in either subject form (see events.Subject).
	msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, "0")
	msg.Header.Set(jetstream.ExpectedLastSubjSeqSubjHeader, events.InvoiceSubjects(ev.Invoice.ID))
	if id := RequestID(ctx); id != "" {
		msg.Header.Set(events.HeaderRequestID, id)
	}
	ack, retried, err := l.publishTraced(ctx, ev, msg)
	switch {
	case err == nil && !ack.Duplicate:
		return ev.Invoice, false, nil
	case err == nil, jserr.IsWrongLastSequence(err), jserr.IsConcurrentPublish(err):
		orig, existed, err := l.replay(ctx, ev.Invoice.ID, hash)
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

// requestedEvent returns the InvoiceRequested event that creates the
// invoice req describes, for account with key at now.
func requestedEvent(account, key string, req invoiceRequest, now time.Time) events.Event {
	inv := events.Invoice{
		ID:          events.InvoiceID(account, endpointCreateInvoice, key),
		Account:     account,
		CustomerID:  req.CustomerID,
		AmountCents: req.AmountCents,
		Currency:    req.Currency,
		Description: req.Description,
		Metadata:    req.Metadata,
		CreatedAt:   now.UTC().Truncate(time.Microsecond),
	}
	return events.NewRequested(inv, events.Idempotency{
		Caller: account, Endpoint: endpointCreateInvoice, Key: key, RequestHash: req.hash(),
	})
}

// RequestedEvent returns the InvoiceRequested event that POST /invoices
// stores for body sent by caller with Idempotency-Key key at now, as the
// API builds it: for tools that fill the stream with real invoices without
// the HTTP round trip. It fails as the request would, with ErrInvalid.
func RequestedEvent(caller, key string, body []byte, now time.Time) (events.Event, error) {
	req, err := decodeInvoiceRequest(body)
	if err != nil {
		return events.Event{}, err
	}
	return requestedEvent(caller, key, req, now), nil
}

// replay answers a repeated key from the stored InvoiceRequested event of
// invoice id: on the stream, or in the read model once it has left the
// stream.
func (l *Ledger) replay(ctx context.Context, id, hash string) (events.Invoice, bool, error) {
	msg, err := l.awaitRequest(ctx, id)
	if err != nil {
		return events.Invoice{}, false, err
	}
	if msg == nil {
		inv, found, err := l.left(ctx, id)
		switch {
		case err != nil:
			return events.Invoice{}, false, err
		case !found:
			return events.Invoice{}, false, withRetryAfter(fmt.Errorf("%w: retry shortly", ErrInFlight), time.Second)
		}
		return replayed(inv.Requested, hash)
	}
	orig, err := events.DecodeMsg(msg.Subject, msg.Data)
	if err != nil {
		// Not an event, yet it holds the key's subject: the key is spent.
		l.log.Warn("stored event passed over: it does not decode", "stream", events.StreamInvoices, "seq", msg.Sequence, "subject", msg.Subject, "err", err)
		return events.Invoice{}, false, fmt.Errorf("%w: the key's invoice is stored as something that cannot be read; use another key", ErrKeyReused)
	}
	return replayed(orig, hash)
}

// replayed returns the invoice orig created, as a replay of a request with
// hash; it fails with ErrKeyReused when orig was made by another request.
func replayed(orig events.Event, hash string) (events.Invoice, bool, error) {
	if orig.Idempotency == nil || orig.Idempotency.RequestHash != hash {
		return events.Invoice{}, false, fmt.Errorf("%w: invoice %s was created by a request with other parameters", ErrKeyReused, orig.Invoice.ID)
	}
	return orig.Invoice, true, nil
}

// awaitRequest reads the request of invoice id, waiting a little when
// JetStream has reported it as a duplicate before it is readable. It
// returns nil when the stream holds none after that wait.
func (l *Ledger) awaitRequest(ctx context.Context, id string) (*jetstream.RawStreamMsg, error) {
	deadline := time.Now().Add(inFlightWait)
	pause := 5 * time.Millisecond
	for {
		msg, err := invoicestream.LastOfType(ctx, l.reader, id, events.InvoiceRequested)
		switch {
		case err == nil:
			return msg, nil
		case !errors.Is(err, jetstream.ErrMsgNotFound):
			return nil, unavailable("read stored invoice", err)
		case time.Now().Add(pause).After(deadline):
			return nil, nil
		}
		select {
		case <-ctx.Done():
			return nil, unavailable("read stored invoice", ctx.Err())
		case <-time.After(pause):
			pause *= 2
		}
	}
}

// modelled returns invoice id from the read model, and whether it holds it,
// for a request that will create it otherwise. It fails with
// ErrUnavailable while the read model trails too far to vouch that an
// invoice it lacks has not left the stream.
func (l *Ledger) modelled(ctx context.Context, id string) (readmodel.Invoice, bool, error) {
	if behind := l.lag.Behind(); behind > l.maxLag {
		return readmodel.Invoice{}, false, withRetryAfter(fmt.Errorf("%w: the read model is catching up with the history", ErrUnavailable), time.Second)
	}
	return l.lookup(ctx, id)
}

// lookup reads invoice id from the read model.
func (l *Ledger) lookup(ctx context.Context, id string) (readmodel.Invoice, bool, error) {
	inv, err := l.model.Invoice(ctx, id)
	switch {
	case errors.Is(err, readmodel.ErrNotFound):
		return readmodel.Invoice{}, false, nil
	case err != nil:
		return readmodel.Invoice{}, false, unavailable("read model", err)
	}
	return inv, true, nil
}

// left reads invoice id from the read model once it has applied every event
// that has left the stream, which is where an invoice missing from the
// stream must be if it exists.
func (l *Ledger) left(ctx context.Context, id string) (readmodel.Invoice, bool, error) {
	info, err := l.reader.Info(ctx)
	if err != nil {
		return readmodel.Invoice{}, false, unavailable("read stream state", err)
	}
	if first := info.State.FirstSeq; first > 1 {
		if err := l.model.WaitFor(ctx, events.StreamInvoices, first-1); err != nil {
			return readmodel.Invoice{}, false, unavailable("read model", err)
		}
	}
	return l.lookup(ctx, id)
}

// Get returns the current state of invoice id, with the account that owns
// it. A decided invoice is
// answered by the read model; one still in play by its newest event on the
// stream. It fails with ErrNotFound when there is no such invoice and
// ErrUnavailable when JetStream or the read model cannot be read.
func (l *Ledger) Get(ctx context.Context, id string) (events.Invoice, error) {
	if inv, found, err := l.lookup(ctx, id); err != nil || (found && inv.Outcome != nil) {
		return owned(inv), err
	}
	ev, found, err := l.newest(ctx, id)
	if err != nil {
		return events.Invoice{}, err
	}
	if found {
		inv := ev.Invoice
		inv.Account = ev.Account()
		return inv, nil
	}
	inv, found, err := l.left(ctx, id)
	switch {
	case err != nil:
		return events.Invoice{}, err
	case !found:
		return events.Invoice{}, fmt.Errorf("%w: no invoice %s", ErrNotFound, id)
	}
	return owned(inv), nil
}

// newest returns the newest event of invoice id on the stream that decodes,
// and whether there is one: what does not decode is passed over (and
// logged), so a message published there by mistake hides no invoice. It
// fails with ErrUnavailable when the stream cannot be read.
func (l *Ledger) newest(ctx context.Context, id string) (events.Event, bool, error) {
	msg, err := l.reader.GetLastMsgForSubject(ctx, events.InvoiceSubjects(id))
	for _, t := range []events.Type{"", events.InvoiceFailed, events.InvoiceProcessed, events.InvoiceRequested} {
		if t != "" {
			msg, err = invoicestream.LastOfType(ctx, l.reader, id, t)
		}
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			continue
		case err != nil:
			return events.Event{}, false, unavailable("read invoice", err)
		}
		ev, err := events.DecodeMsg(msg.Subject, msg.Data)
		if err == nil && ev.Invoice.ID == id {
			return ev, true, nil
		}
		l.log.Warn("stored event passed over: it does not decode", "stream", events.StreamInvoices, "seq", msg.Sequence, "subject", msg.Subject, "err", err)
	}
	return events.Event{}, false, nil
}

// owned returns inv's current state with the account that owns it, which
// invoices stored before accounts existed name only in their request.
func owned(inv readmodel.Invoice) events.Invoice {
	latest := inv.Latest()
	latest.Account = inv.Requested.Account()
	return latest
}

// List returns, newest first, up to limit invoices that match f and were
// requested before stream sequence before (0 for the newest), and the
// cursor of the next page (0 for none). It answers once the read model has
// applied everything the stream held when it was asked, so a list is as
// fresh as a read. It fails with ErrUnavailable when the stream or the read
// model cannot be read in time.
func (l *Ledger) List(ctx context.Context, f readmodel.InvoiceFilter, before uint64, limit int) ([]events.Invoice, uint64, error) {
	if err := l.caughtUp(ctx); err != nil {
		return nil, 0, err
	}
	page, next, err := l.model.Invoices(ctx, f, before, limit)
	if err != nil {
		return nil, 0, unavailable("read model", err)
	}
	out := make([]events.Invoice, len(page))
	for i, inv := range page {
		out[i] = owned(inv)
	}
	return out, next, nil
}

// caughtUp returns once the read model has applied everything INVOICES
// held when it was called. It fails with ErrUnavailable when the stream or
// the read model cannot be read in time.
func (l *Ledger) caughtUp(ctx context.Context) error {
	info, err := l.reader.Info(ctx)
	if err != nil {
		return unavailable("read stream state", err)
	}
	if err := l.model.WaitFor(ctx, events.StreamInvoices, info.State.LastSeq); err != nil {
		return unavailable("the read model is catching up", err)
	}
	return nil
}
