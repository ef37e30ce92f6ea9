package faults

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/nats-io/nats.go/jetstream"
)

// history is what the INVOICES stream holds, per invoice and per key.
type history struct {
	requested map[string]int      // invoice ID → InvoiceRequested events
	keys      map[string][]string // Idempotency-Key → invoice IDs requested with it
	outcomes  map[string][]events.Event
}

// readHistory reads the INVOICES stream from its first message to the last
// one it held when the read began.
func readHistory(ctx context.Context, js jetstream.JetStream) (history, error) {
	h := history{requested: map[string]int{}, keys: map[string][]string{}, outcomes: map[string][]events.Event{}}
	st, err := js.Stream(ctx, events.StreamInvoices)
	if err != nil {
		return h, fmt.Errorf("faults: history: %w", err)
	}
	last := st.CachedInfo().State.LastSeq
	if last == 0 {
		return h, nil
	}
	cons, err := js.OrderedConsumer(ctx, events.StreamInvoices, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return h, fmt.Errorf("faults: history: %w", err)
	}
	for {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return h, fmt.Errorf("faults: history: %w", err)
		}
		for msg := range batch.Messages() {
			md, err := msg.Metadata()
			if err != nil {
				return h, fmt.Errorf("faults: history: %w", err)
			}
			if err := h.add(msg.Subject(), msg.Data()); err != nil {
				return h, err
			}
			if md.Sequence.Stream >= last {
				return h, nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return h, fmt.Errorf("faults: history: %w", err)
		}
		if ctx.Err() != nil {
			return h, fmt.Errorf("faults: history: %w", ctx.Err())
		}
	}
}

// add counts one stored event.
func (h history) add(subject string, data []byte) error {
	ev, err := events.DecodeMsg(subject, data)
	if err != nil {
		return fmt.Errorf("faults: history: %s: %w", subject, err)
	}
	id := ev.Invoice.ID
	switch ev.Type {
	case events.InvoiceRequested:
		h.requested[id]++
		if k := ev.Idempotency; k != nil && !slices.Contains(h.keys[k.Key], id) {
			h.keys[k.Key] = append(h.keys[k.Key], id)
		}
	default:
		h.outcomes[id] = append(h.outcomes[id], ev)
	}
	return nil
}
