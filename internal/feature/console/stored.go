package console

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
	"github.com/invoiced/invoiced/internal/infra/history"
	"github.com/invoiced/invoiced/internal/infra/invoicestream"
	"github.com/nats-io/nats.go/jetstream"
)

// Consumer names a durable consumer of a stream.
type Consumer struct{ Stream, Name string }

// Stored reads for the console what the API does not show, from the read
// model and the streams: it is a HistoryReader, a HealthReader and a
// LagReader.
type Stored struct {
	Model     *readmodel.Store
	Invoices  jetstream.Stream
	JS        jetstream.JetStream
	Consumers []Consumer // whose lag Health reports
	// Skips logs and counts the events History passes over as not valid
	// events; nil passes them over unrecorded.
	Skips *history.Skips
}

// History returns the events of invoice invoiceID in the order they
// happened: those the read model holds, and any newer one still on its way
// there from the INVOICES stream, less any stored there that is not a
// valid event of the invoice. It fails when the read model or the stream
// cannot be read.
func (c Stored) History(ctx context.Context, invoiceID string) ([]events.Event, error) {
	id, err := uuid.Parse(invoiceID)
	if err != nil {
		return nil, fmt.Errorf("history: %q is no invoice ID", invoiceID)
	}
	var found []events.Event
	inv, err := c.Model.Invoice(ctx, id.String())
	switch {
	case err == nil:
		found = inv.Events()
	case !errors.Is(err, readmodel.ErrNotFound):
		return nil, fmt.Errorf("history of %s: %w", id, err)
	}
	var out []events.Event
	for _, t := range events.Types { // the order events of one invoice happen in
		if i := slices.IndexFunc(found, func(ev events.Event) bool { return ev.Type == t }); i >= 0 {
			out = append(out, found[i])
			continue
		}
		msg, err := invoicestream.LastOfType(ctx, c.Invoices, id.String(), t)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", id, err)
		}
		ev, err := events.DecodeMsg(msg.Subject, msg.Data)
		if err != nil {
			c.Skips.Skip(history.Skipped{Stream: events.StreamInvoices, Seq: msg.Sequence, Subject: msg.Subject, Err: err})
			continue
		}
		out = append(out, ev)
	}
	return out, nil
}

// Health returns each durable consumer's lag, as its info reports it, and
// how many deliveries are dead letters. It fails when the read model
// cannot be read.
func (c Stored) Health(ctx context.Context) (Health, error) {
	h := Health{Consumers: c.Lag(ctx)}
	dead, err := c.Model.CountDeliveries(ctx, readmodel.DeliveryFilter{Status: webhook.DeliveryDead})
	if err != nil {
		return h, err
	}
	h.Dead = dead
	return h, nil
}

// Lag returns each durable consumer's lag, as its info reports it.
func (c Stored) Lag(ctx context.Context) []ConsumerLag {
	out := make([]ConsumerLag, 0, len(c.Consumers))
	for _, dc := range c.Consumers {
		out = append(out, c.lag(ctx, dc.Stream, dc.Name))
	}
	return out
}

// lag reads one consumer's info within two seconds.
func (c Stored) lag(ctx context.Context, stream, name string) ConsumerLag {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	lag := ConsumerLag{Stream: stream, Name: name}
	cons, err := c.JS.Consumer(ctx, stream, name)
	if err != nil {
		lag.Error = consumerProblem(err)
		return lag
	}
	info, err := cons.Info(ctx)
	if err != nil {
		lag.Error = consumerProblem(err)
		return lag
	}
	lag.Pending, lag.AckPending = info.NumPending, uint64(max(info.NumAckPending, 0))
	return lag
}

// consumerProblem says briefly why a consumer could not be read.
func consumerProblem(err error) string {
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return "not found: no process with its role has started"
	}
	return "unreadable: " + err.Error()
}
