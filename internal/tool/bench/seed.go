package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/client"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/tool/loaddriver"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// History describes the invoices a history benchmark makes: invoice n has
// the Idempotency-Key Prefix-n, one of Customers customers, and every
// FailEvery-th one is over the processor's limit, so it fails.
type History struct {
	Prefix    string
	Caller    string // the API's caller the keys are scoped to
	Customers int
	FailEvery int
}

// Key returns the Idempotency-Key of invoice n.
func (h History) Key(n int) string { return fmt.Sprintf("%s-%d", h.Prefix, n) }

// ID returns the ID of invoice n.
func (h History) ID(n int) string { return events.InvoiceID(h.Caller, "POST /invoices", h.Key(n)) }

// Customer returns the customer of invoice n.
func (h History) Customer(n int) string { return fmt.Sprintf("cust-%04d", n%h.Customers) }

// Params returns what invoice n is created with.
func (h History) Params(n int) client.InvoiceParams {
	amount := int64(100 + n%100_000)
	if h.Fails(n) {
		amount = 2 * 100_000_000 // over the default --max-amount-cents
	}
	return client.InvoiceParams{CustomerID: h.Customer(n), AmountCents: amount, Currency: "USD",
		Description: fmt.Sprintf("invoice %d", n), Metadata: map[string]string{"order": strconv.Itoa(n)}}
}

// Fails reports whether invoice n fails.
func (h History) Fails(n int) bool { return h.FailEvery > 0 && n%h.FailEvery == h.FailEvery-1 }

// Seed stores invoices from up to to (exclusive) as POST /invoices would:
// each InvoiceRequested event built by the API's own code and published to
// the INVOICES stream with the API's message ID and expected-sequence
// guard. The service then processes and delivers them like any other.
// While more than window invoices are not done yet (done returns how many
// of all, from invoice 0, are), it waits. It fails when a publish is
// refused or ctx ends.
func (h History) Seed(ctx context.Context, js jetstream.JetStream, from, to, window int, done func() int) error {
	const inFlight = 2000 // publishes awaiting their ack
	futures := make([]jetstream.PubAckFuture, 0, inFlight)
	settle := func() error {
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return fmt.Errorf("seed: %w", err)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		futures = futures[:0]
		return nil
	}
	for n := from; n < to; n++ {
		for n-done() > window {
			if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
				return err
			}
		}
		body, err := json.Marshal(h.Params(n)) // as the client sends it
		if err != nil {
			return err
		}
		ev, err := api.RequestedEvent(h.Caller, h.Key(n), body, time.Now())
		if err != nil {
			return fmt.Errorf("seed invoice %d: %w", n, err)
		}
		data, err := events.Encode(ev)
		if err != nil {
			return err
		}
		f, err := js.PublishMsgAsync(&nats.Msg{Subject: ev.Subject(), Data: data},
			jetstream.WithMsgID(ev.ID), jetstream.WithExpectLastSequencePerSubject(0))
		if err != nil {
			return fmt.Errorf("seed invoice %d: %w", n, err)
		}
		if futures = append(futures, f); len(futures) == inFlight {
			if err := settle(); err != nil {
				return err
			}
		}
	}
	return settle()
}

// sleepCtx waits d, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// Invoices returns a loaddriver Next that gives invoices from on, in turn.
func (h History) Invoices(from int) func(n int64) loaddriver.Invoice {
	return func(n int64) loaddriver.Invoice {
		i := from + int(n) - 1
		want := client.InvoiceProcessed
		if h.Fails(i) {
			want = client.InvoiceFailed
		}
		return loaddriver.Invoice{Key: h.Key(i), Params: h.Params(i), Want: want}
	}
}
